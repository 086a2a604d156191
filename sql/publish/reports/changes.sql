-- reports/changes: one row per cluster whose verdict changed since the previous
-- publication, the most serious first.
-- Input: verdict_change.
SELECT * FROM verdict_change
ORDER BY least(verdict_level(verdict), verdict_level(previous_verdict)),
         verdict_level(verdict), cluster_id
