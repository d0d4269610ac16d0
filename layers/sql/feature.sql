-- One GeoJSON Feature of a row of `page`, as text.
'{"type":"Feature","id":' || to_json(page.feature_id)::text
|| ',"geometry":' || coalesce(ST_AsGeoJSON(${geometry}, ${digits}), 'null')
|| ',"properties":' || ${properties} || '}'
