-- A Mapbox vector tile of one layer: rows meeting the buffered tile, projected and clipped by
-- ST_AsMVTGeom (NULL where a geometry vanishes at this zoom, which ST_AsMVT skips).
WITH ${newest_run}tile_rows AS (${rows}),
features AS (
    SELECT ${values}, tile_rows.mvt_geom FROM tile_rows${scores}
    ORDER BY tile_rows.feature_id
)
SELECT ST_AsMVT(features.*, :layer, ${extent}, 'mvt_geom') FROM features
