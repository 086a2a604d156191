-- account_link_evidence: one row per pair of accounts (account_a < account_b), evidence
-- kind and rarity stratum that ties them in the window: how many distinct things of that
-- kind they share (shared_count, from account_link_count) and how many two unrelated
-- accounts of this window with their activity would share by chance (expected_count, the
-- Poisson mean of the null in account_link_null). linking.py adds p_value, the Poisson tail
-- P(X >= shared_count) (scipy.special.gammainc(shared_count, expected_count)), and
-- surprise = -log10(p_value).
-- The mean of a kind and stratum is (d_a S_b + d_b S_a) / 2M, scaled by unit_ratio (bands
-- and prefixes count once per prompt and prefix). Synchronized starts take the larger of
-- that window's null and the day's null (sync_expected): against the window's null alone
-- two campaigns busy in the same days of a month shared thousands of chance buckets, which
-- chained them into one community; the day's null alone would expect less than the
-- window's on a day of few starts, and chance pairs are not to gain from it.
-- Cards: linking.py gives their rows the edge threshold's surprise (one payer).
-- Failover: 429s on one account followed within seconds by the same prompt on the other
-- (failover_day), against chance: the prompts the pair shares within minutes times the
-- window's 429 rate, as if the pair always sent its shared prompts seconds apart (two apps
-- answering the same public feed do; so a 429 among them is no evidence).
-- Input: account_link_count, account_link_null, failover_day, account_day, link_type
-- (key_type, family). Parameters: $start, $end.
WITH activity AS (
    SELECT DISTINCT account_id, key_type, key_count, type_incidences
    FROM account_link_null
),

coholders AS (
    SELECT account_id, key_type, stratum, coholder_count
    FROM account_link_null
    WHERE stratum IS NOT NULL
),

expected AS (
    SELECT
        c.account_a, c.account_b, c.key_type, c.stratum, c.shared_count,
        greatest((coalesce(da.key_count, 0) * coalesce(sb.coholder_count, 0)
            + coalesce(db.key_count, 0) * coalesce(sa.coholder_count, 0))::DOUBLE
            / (2 * greatest(coalesce(da.type_incidences, db.type_incidences), 1))
            * c.unit_ratio, coalesce(c.sync_expected, 0.0)) AS expected_count
    FROM account_link_count AS c
    LEFT JOIN activity AS da ON da.account_id = c.account_a AND da.key_type = c.key_type
    LEFT JOIN activity AS db ON db.account_id = c.account_b AND db.key_type = c.key_type
    LEFT JOIN coholders AS sa
        ON sa.account_id = c.account_a AND sa.key_type = c.key_type AND sa.stratum = c.stratum
    LEFT JOIN coholders AS sb
        ON sb.account_id = c.account_b AND sb.key_type = c.key_type AND sb.stratum = c.stratum
),

rate_limited AS (
    SELECT sum(rate_limited_count)::DOUBLE / greatest(sum(request_count), 1) AS share
    FROM account_day
    WHERE date BETWEEN $start AND $end
),

failovers AS (
    SELECT
        f.account_a, f.account_b, 'failover' AS key_type, 0 AS stratum,
        f.event_count::DOUBLE AS shared_count,
        greatest(coalesce(p.shared_count, 0), 1) * r.share
            AS expected_count
    FROM (
        SELECT
            least(account_id, next_account_id) AS account_a,
            greatest(account_id, next_account_id) AS account_b,
            sum(event_count) AS event_count
        FROM failover_day
        WHERE date BETWEEN $start AND $end
        GROUP BY ALL
    ) AS f
    LEFT JOIN account_link_count AS p
        ON p.account_a = f.account_a AND p.account_b = f.account_b
        AND p.key_type = 'same_prompt'
    CROSS JOIN rate_limited AS r
)

SELECT e.account_a, e.account_b, t.family, e.key_type, e.stratum::INTEGER AS stratum,
    e.shared_count, e.expected_count
FROM (SELECT * FROM expected UNION ALL SELECT * FROM failovers) AS e
JOIN link_type AS t USING (key_type)
ORDER BY e.account_a, e.account_b, e.key_type, e.stratum
