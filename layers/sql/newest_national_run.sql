-- The newest national run: one probe of the (scope, created_at DESC) index.
SELECT run_id FROM score_runs WHERE scope = :national_scope
ORDER BY created_at DESC, run_id LIMIT 1
