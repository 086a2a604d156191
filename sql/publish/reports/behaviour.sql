-- reports/behaviour: one row per flagged cluster, and one whose cluster_id is 'population'
-- for every account of the window, with descriptive measures over the window's
-- account-days (ratios of sums, so busy accounts weigh more). One query for both, so the
-- cluster and the population it is compared with are measured the same way.
-- Input: _report_member, account_day. Parameters: $start, $end.
WITH days AS (
    SELECT m.cluster_id, d.*
    FROM _report_member AS m JOIN account_day AS d USING (account_id)
    WHERE d.date BETWEEN $start AND $end
    UNION ALL BY NAME
    SELECT 'population' AS cluster_id, *
    FROM account_day
    WHERE date BETWEEN $start AND $end
)

SELECT cluster_id,
    sum(d.max_tokens_saturated_share * d.ok_count)
        / nullif(sum(d.ok_count) FILTER (WHERE d.max_tokens_saturated_share IS NOT NULL), 0)
        AS max_tokens_saturated_share,
    sum(d.output_tokens_sum) / nullif(sum(d.total_input_tokens_sum), 0)
        AS output_input_ratio,
    sum(d.output_tokens_sum) / nullif(sum(d.ok_count), 0) AS output_tokens_per_ok_request,
    sum(d.distinct_prompt_hash_count) / nullif(sum(d.request_count), 0)
        AS distinct_prompts_per_request,
    sum(d.temperature_positive_share * d.request_count)
        / nullif(sum(d.request_count) FILTER (WHERE d.temperature_positive_share IS NOT NULL),
                 0) AS temperature_positive_share,
    sum(d.cache_read_input_tokens_sum) / nullif(sum(d.total_input_tokens_sum), 0)
        AS cache_read_share,
    sum(d.rate_limited_count) / nullif(sum(d.request_count), 0) AS rate_limited_share,
    avg(d.active_hour_count) AS active_hours_per_account_day
FROM days AS d
GROUP BY cluster_id
ORDER BY cluster_id
