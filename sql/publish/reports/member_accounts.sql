-- reports/member_accounts: one row per account of a flagged cluster, busiest first, with its
-- attributes and its figures summed over the window's days (an account without a day in
-- the window has zero requests, not none).
-- Input: _report_member, account_day, _report_account. Parameters: $start, $end.
SELECT m.cluster_id, m.account_id,
       a.created_at, a.country, a.rpm_limit,
       count(d.date) AS active_day_count,
       coalesce(sum(d.request_count), 0)::BIGINT AS request_count,
       coalesce(sum(d.rate_limited_count), 0)::BIGINT AS rate_limited_count,
       coalesce(sum(d.total_input_tokens_sum), 0)::BIGINT AS input_tokens,
       coalesce(sum(d.output_tokens_sum), 0)::BIGINT AS output_tokens,
       coalesce(sum(d.cache_read_input_tokens_sum), 0)::BIGINT AS cache_read_tokens,
       max(d.peak_rpm_limit_ratio) AS peak_rpm_limit_ratio_max,
       min(d.first_request_at) AS first_request_at,
       max(d.last_request_at) AS last_request_at
FROM _report_member AS m
LEFT JOIN account_day AS d ON d.account_id = m.account_id
     AND d.date BETWEEN $start AND $end
LEFT JOIN _report_account AS a ON a.account_id = m.account_id
GROUP BY ALL
ORDER BY m.cluster_id, request_count DESC, m.account_id
