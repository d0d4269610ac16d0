-- The prepared tile geometries of one polygon table's rows of some datasets, one row per zoom
-- band (see layers.features.prepared): projected once to EPSG:3857; for a snapped band,
-- simplified (collapsed rings dropped), snapped to the band's tile-unit grid and, the few
-- times that left it invalid, repaired (ST_Buffer 0); the full band is the projected geometry
-- itself. A geometry that simplifying empties (a commune smaller than the tolerance) is kept
-- projected only: ST_AsMVTGeom then drops it or not exactly as it would the original.
WITH projected AS MATERIALIZED (
    SELECT t.dataset, t.${key}::text AS feature_key, ST_Transform(t.geom, 3857) AS geom
    FROM ${table} t
    WHERE t.dataset = ANY(:datasets) AND t.geom IS NOT NULL AND NOT ST_IsEmpty(t.geom)
),
snapped AS MATERIALIZED (
    SELECT p.dataset, p.feature_key, b.band, b.grid, p.geom AS projected,
        CASE WHEN b.grid > 0 THEN ST_RemoveRepeatedPoints(
            ST_SnapToGrid(ST_Simplify(p.geom, b.tolerance, false), b.grid)
        ) ELSE p.geom END AS geom
    FROM projected p CROSS JOIN unnest(
        CAST(:bands AS smallint[]), CAST(:grids AS float8[]), CAST(:tolerances AS float8[])
    ) AS b(band, grid, tolerance)
),
checked AS MATERIALIZED (
    SELECT s.*, s.grid = 0 OR (ST_IsValidDetail(s.geom)).valid AS valid FROM snapped s
)
INSERT INTO tile_geometries (table_name, band, feature_key, dataset, geom)
SELECT :table_name, c.band, c.feature_key, c.dataset,
    CASE WHEN r.geom IS NULL OR ST_IsEmpty(r.geom) THEN c.projected ELSE r.geom END
FROM checked c CROSS JOIN LATERAL (
    SELECT CASE WHEN c.valid THEN c.geom ELSE ST_Buffer(c.geom, 0) END AS geom
) r
