-- The lon/lat extent of one collection (joined with UNION ALL, one statement for all).
SELECT :id_${number} AS id, ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n
FROM (SELECT ST_Extent(t.geom) AS e FROM ${table} t ${where}) AS x
