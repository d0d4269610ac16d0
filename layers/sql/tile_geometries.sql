-- The prepared tile geometries of one polygon table's rows of some datasets, one row per zoom
-- band (see layers.features.prepared): projected once to EPSG:3857; for a snapped band,
-- simplified (collapsed rings dropped), snapped to the band's tile-unit grid and, the few
-- times that left it invalid, repaired (ST_Buffer 0); the full band is the projected geometry
-- itself. A geometry that simplifying empties (a commune smaller than the tolerance) is kept
-- projected only: ST_AsMVTGeom then drops it or not exactly as it would the original.
-- Only the projection is materialised: each band's geometry is made and checked in a LATERAL
-- fenced by OFFSET 0, so the repair runs once per invalid geometry (an inlined subquery would
-- evaluate it once per reference) and no row carries a copy of the projected geometry.
WITH projected AS MATERIALIZED (
    SELECT t.dataset, t.${key}::text AS feature_key, ST_Transform(t.geom, 3857) AS geom
    FROM ${table} t
    WHERE t.dataset = ANY(:datasets) AND t.geom IS NOT NULL AND NOT ST_IsEmpty(t.geom)
)
INSERT INTO tile_geometries (table_name, band, feature_key, dataset, geom)
SELECT :table_name, b.band, p.feature_key, p.dataset, COALESCE(r.geom, p.geom)
FROM projected p CROSS JOIN unnest(
    CAST(:bands AS smallint[]), CAST(:grids AS float8[]), CAST(:tolerances AS float8[])
) AS b(band, grid, tolerance)
LEFT JOIN LATERAL (
    SELECT CASE WHEN ST_IsValid(s.geom) THEN s.geom ELSE ST_Buffer(s.geom, 0) END AS geom
    FROM (
        SELECT ST_RemoveRepeatedPoints(
            ST_SnapToGrid(ST_Simplify(p.geom, b.tolerance, false), b.grid)
        ) AS geom
        WHERE b.grid > 0
        OFFSET 0
    ) s
    WHERE s.geom IS NOT NULL
    OFFSET 0
) r ON NOT ST_IsEmpty(r.geom)
