-- account_link_key: one row per account seen in the window ($start..$end) and linking key
-- it holds: registry keys from the accounts table (payment fingerprint, e-mail domain,
-- creation burst) and traffic keys from the compact per-day tables (user agent, system
-- prompt, IP prefix in an hour, near-duplicate prompt band, the day's start and stop
-- minutes when both fall inside the day, $edge_margin_minutes from midnight or more).
-- Whether a key links anybody, and how strongly, is decided by its rarity (link_key).
-- Free-mail providers ($public_email_domains) hold no key: in a small window gmail.com
-- may be rare, but it is never one registrant.
-- Input: accounts, account_day, account_key_day, account_prefix_hour, account_band_day.
-- Parameters: $start, $end, $burst_minutes, $edge_margin_minutes, $public_email_domains.
WITH seen AS (
    SELECT DISTINCT account_id FROM account_day WHERE date BETWEEN $start AND $end
),

registry AS (
    SELECT account_id, 'payment_fingerprint' AS key_type, payment_fingerprint AS key_value
    FROM accounts SEMI JOIN seen USING (account_id)
    WHERE payment_fingerprint IS NOT NULL
    UNION ALL
    SELECT account_id, 'email_domain', lower(email_domain)
    FROM accounts SEMI JOIN seen USING (account_id)
    WHERE email_domain IS NOT NULL
        AND NOT list_contains($public_email_domains::VARCHAR[], lower(email_domain))
    UNION ALL
    SELECT account_id, 'created_burst',
        strftime(time_bucket(to_minutes($burst_minutes::INTEGER), created_at),
            '%Y-%m-%dT%H:%M')
    FROM accounts SEMI JOIN seen USING (account_id)
    WHERE created_at IS NOT NULL
),

traffic AS (
    SELECT account_id, key_type, key_value
    FROM account_key_day
    WHERE date BETWEEN $start AND $end AND key_type IN ('user_agent', 'system_hash')
    UNION ALL
    SELECT account_id, 'ip_prefix_hour', ip_prefix || ' ' || strftime(hour_at, '%Y-%m-%dT%H')
    FROM account_prefix_hour
    WHERE date BETWEEN $start AND $end
    UNION ALL
    SELECT account_id, 'prompt_band', band_key::VARCHAR || ' ' || strftime(hour_at, '%Y-%m-%dT%H')
    FROM account_band_day
    WHERE date BETWEEN $start AND $end
    UNION ALL
    SELECT account_id, 'start_stop',
        strftime(first_request_at, '%Y-%m-%dT%H:%M') || '/' || strftime(last_request_at, '%H:%M')
    FROM account_day
    WHERE date BETWEEN $start AND $end
        AND first_request_at >= date::TIMESTAMPTZ + to_minutes($edge_margin_minutes::INTEGER)
        AND last_request_at < (date + 1)::TIMESTAMPTZ - to_minutes($edge_margin_minutes::INTEGER)
)

SELECT DISTINCT account_id, key_type, key_value
FROM (SELECT * FROM registry UNION ALL SELECT * FROM traffic)
ORDER BY key_type, key_value, account_id
