-- reports/pacing: one row per flagged cluster and pacing bin (0 to 9: the busiest
-- minute's tenth of the account's rate limit; 10: at or over it), with its account-days of
-- the window. Account-days without a known limit are left out.
-- Input: _report_member, account_day. Parameters: $start, $end.
SELECT m.cluster_id, least(floor(peak_rpm_limit_ratio * 10), 10)::BIGINT AS bin,
       count(*)::BIGINT AS account_day_count
FROM _report_member AS m JOIN account_day AS d USING (account_id)
WHERE d.date BETWEEN $start AND $end AND peak_rpm_limit_ratio IS NOT NULL
GROUP BY ALL ORDER BY m.cluster_id, bin
