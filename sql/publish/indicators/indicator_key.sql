-- indicator_key: one row per flagged case and key another provider could match in its
-- own logs: a network prefix (the /24 or /48 of ip_prefix_hour keys, over all hours), a
-- user agent, a system-prompt hash (sha256), a payment fingerprint or a prompt hash, held
-- by at least two of the case's accounts and by more of the case's accounts than of the
-- rest of the window's (a key the case holds no more of than everyone else describes a
-- population, not the case). case_accounts and window_accounts say how many hold it; the
-- $per_kind keys each case's accounts hold most are kept per kind (ties: the value).
-- Input: cluster_findings, clusters, account_link_key, account_prompt_day, accounts.
-- Parameters: $verdict (flagged), $per_kind, $start, $end.
WITH flagged AS (
    SELECT c.cluster_id, c.account_id
    FROM clusters AS c
    JOIN cluster_findings AS f USING (cluster_id)
    WHERE f.verdict = $verdict
),

held AS (
    SELECT DISTINCT
        account_id,
        CASE key_type WHEN 'ip_prefix_hour' THEN 'ip_prefix' ELSE key_type END AS kind,
        CASE key_type WHEN 'ip_prefix_hour' THEN split_part(key_value, ' ', 1)
            ELSE key_value END AS value
    FROM account_link_key
    WHERE key_type IN ('ip_prefix_hour', 'user_agent', 'system_hash')
    UNION
    SELECT DISTINCT account_id, 'payment_fingerprint', payment_fingerprint
    FROM accounts
    WHERE payment_fingerprint IS NOT NULL
        AND account_id IN (SELECT account_id FROM account_link_key)
    UNION
    SELECT DISTINCT account_id, 'prompt_hash', prompt_hash
    FROM account_prompt_day
    WHERE date BETWEEN $start AND $end
),

counted AS (
    SELECT
        kind,
        value,
        count(*) AS window_accounts
    FROM held
    GROUP BY kind, value
),

in_case AS (
    SELECT f.cluster_id, h.kind, h.value, count(*) AS case_accounts
    FROM held AS h
    JOIN flagged AS f USING (account_id)
    GROUP BY f.cluster_id, h.kind, h.value
)

SELECT cluster_id, kind, value, case_accounts, window_accounts
FROM in_case
JOIN counted USING (kind, value)
WHERE case_accounts >= 2 AND 2 * case_accounts > window_accounts
QUALIFY row_number() OVER (
    PARTITION BY cluster_id, kind ORDER BY case_accounts DESC, value
) <= $per_kind
ORDER BY cluster_id, kind, case_accounts DESC, value
