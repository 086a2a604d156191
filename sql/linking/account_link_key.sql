-- account_link_key: one row per account seen in the window ($start..$end) and linking key
-- it holds: registry keys from the accounts table (payment fingerprint, e-mail domain,
-- creation burst, and the creation wave of creation_wave when its bucket is in one) and
-- traffic keys from the compact per-day tables (user agent, system
-- prompt, IP prefix in an hour, near-duplicate prompt band on a day, and the
-- $sync_minutes-wide bucket of every activity start: a minute with requests after
-- $idle_minutes or more of silence, leaving out the first minutes of a day that merely
-- continue the night before, $edge_margin_minutes from midnight).
-- A band is a band-day key ('band date'): two accounts that draw the same rare tasks from
-- one corpus on different days share no key, while a harvesting pool shares them on the
-- day it dispatches them. Its popularity is still that of the band over the window
-- (popular_as, which link_key and account_link_null count by), or a corpus question a
-- hundred people ask on different days would look rare on each day it is asked twice.
-- popular_as is NULL for every other key: its popularity is its own.
-- No key is dropped by a list here: how much a shared key says is measured against how
-- many accounts of the window hold it (account_link_null, account_link_evidence), so a
-- consumer mail domain, a public NAT or an SDK's default prompt weighs little because the
-- data shows many unrelated accounts share it.
-- Input: accounts, creation_wave, account_day, account_key_day, account_prefix_hour,
-- account_band_day, account_minute. Parameters: $start, $end, $burst_minutes, $edge_margin_minutes,
-- $sync_minutes, $idle_minutes.
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
    UNION ALL
    SELECT account_id, 'created_burst',
        strftime(time_bucket(to_minutes($burst_minutes::INTEGER), created_at),
            '%Y-%m-%dT%H:%M')
    FROM accounts SEMI JOIN seen USING (account_id)
    WHERE created_at IS NOT NULL
),

waves AS (
    SELECT r.account_id, 'creation_wave' AS key_type, w.wave AS key_value
    FROM registry AS r
    JOIN creation_wave AS w ON w.bucket = r.key_value
    WHERE r.key_type = 'created_burst' AND w.wave IS NOT NULL
),

minutes AS (
    SELECT
        account_id,
        minute_at,
        minute_at - lag(minute_at) OVER (PARTITION BY account_id ORDER BY minute_at) AS gap
    FROM account_minute
    WHERE date BETWEEN $start AND $end
),

starts AS (
    SELECT account_id, minute_at
    FROM minutes
    WHERE gap >= to_minutes($idle_minutes::INTEGER)
        OR (gap IS NULL AND minute_at >= date_trunc('day', minute_at)
            + to_minutes($edge_margin_minutes::INTEGER))
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
    SELECT account_id, 'sync_start',
        strftime(time_bucket(to_minutes($sync_minutes::INTEGER), minute_at), '%Y-%m-%dT%H:%M')
    FROM starts
),

bands AS (
    SELECT
        account_id,
        'prompt_band' AS key_type,
        band_key::VARCHAR || ' ' || strftime(date, '%Y-%m-%d') AS key_value,
        band_key::VARCHAR AS popular_as
    FROM account_band_day
    WHERE date BETWEEN $start AND $end
)

SELECT DISTINCT account_id, key_type, key_value, popular_as
FROM (
    SELECT * FROM registry
    UNION ALL SELECT * FROM waves
    UNION ALL SELECT * FROM traffic
    UNION ALL BY NAME SELECT * FROM bands
)
ORDER BY key_type, key_value, account_id
