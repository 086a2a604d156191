-- reports/population_pacing: one row per pacing bin of pacing.sql, with every account's
-- account-days of the window: what pacing.sql is compared with.
-- Input: account_day. Parameters: $start, $end.
SELECT least(floor(peak_rpm_limit_ratio * 10), 10)::BIGINT AS bin,
       count(*)::BIGINT AS account_day_count
FROM account_day
WHERE date BETWEEN $start AND $end AND peak_rpm_limit_ratio IS NOT NULL
GROUP BY ALL ORDER BY bin
