-- reports/daily: one row per flagged cluster and day of the window on which one of its
-- accounts sent a request: requests, active accounts and tokens summed over the accounts.
-- Input: _report_member, account_day. Parameters: $start, $end.
SELECT m.cluster_id, d.date, sum(d.request_count)::BIGINT AS request_count,
       count(*)::BIGINT AS active_account_count,
       sum(d.total_input_tokens_sum)::BIGINT AS input_tokens,
       sum(d.output_tokens_sum)::BIGINT AS output_tokens,
       sum(d.cache_read_input_tokens_sum)::BIGINT AS cache_read_tokens,
       sum(d.cache_creation_input_tokens_sum)::BIGINT AS cache_creation_tokens,
       sum(d.rate_limited_count)::BIGINT AS rate_limited_count
FROM _report_member AS m JOIN account_day AS d USING (account_id)
WHERE d.date BETWEEN $start AND $end
GROUP BY ALL ORDER BY m.cluster_id, d.date
