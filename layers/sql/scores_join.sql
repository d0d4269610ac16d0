-- The newest national run's results of each row's commune, pivoted into one column per
-- property (max(...) FILTER per challenge) by a LATERAL probe of the score_results primary
-- key: a page of 100 communes reads 100 x challenges result rows, not the whole run.
LEFT JOIN LATERAL (
    SELECT ${pivots} FROM score_results r
    WHERE r.run_id = (SELECT run_id FROM newest_run) AND r.cut = ${rows}.score_cut
) s ON TRUE
