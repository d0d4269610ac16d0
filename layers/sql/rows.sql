-- Rows of a collection: the feature id, the table's properties, a geometry expression and
-- (when scores are joined) the CUT to look them up by, filtered, ordered and paged.
SELECT t.${key} AS feature_id${columns}${score_cut}, ${geometry}
FROM ${table} t ${where} ${tail}
