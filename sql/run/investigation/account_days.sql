-- account_days: one row per day the account sent requests: how many, how many were rate
-- limited, its tokens, and from how many network prefixes and user agents.
-- Input: account_day. Parameters: $account_id.
SELECT
    date,
    request_count,
    rate_limited_count,
    input_tokens_sum,
    output_tokens_sum,
    cache_read_share,
    distinct_ip_prefix_count,
    distinct_user_agent_count
FROM account_day
WHERE account_id = $account_id
ORDER BY date
