-- A key that changes whenever a dataset is (re)loaded: md5 over every provenance row.
SELECT coalesce(md5(string_agg(dataset || ':' || sha256 || ':' || loaded_at::text,
    ',' ORDER BY dataset)), '')
FROM dataset_provenance
