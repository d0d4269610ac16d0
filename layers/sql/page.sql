-- A page of features as comma-separated GeoJSON (UTF-8 bytes, passed through untouched),
-- the number returned and, when ${matched} is filled, the number matching in all.
WITH ${newest_run}page AS (${rows})
SELECT count(*) AS returned, ${matched}${run_id}
    convert_to(coalesce(string_agg(${feature}, ',' ORDER BY page.feature_id), ''), 'UTF8')
    AS features
FROM page${scores}
