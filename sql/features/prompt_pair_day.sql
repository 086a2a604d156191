-- prompt_pair_day: one row per unordered pair of accounts (account_a < account_b) that,
-- on the UTC day $day, sent one prompt_hash within $pair_minutes (inclusive) of each
-- other, counting only prompts sent by at most $max_accounts_per_prompt accounts that day:
-- a popular prompt ("hi") would make millions of pairs and links nobody anyway.
-- Inputs: requests (the day's partition).
-- Parameters: $day, $pair_minutes, $max_accounts_per_prompt.
-- Each account's requests of a prompt are first folded into cells, one per
-- $pair_minutes-wide slot of the clock (first and last time). Two cells of one prompt can
-- only be within $pair_minutes if their slots are equal or adjacent, and then exactly when
-- the gap between them (later first minus earlier last) is at most $pair_minutes; so the
-- join is an equality join on (prompt, slot) with at most $max_accounts_per_prompt
-- accounts on each side, and repeated requests of one account cost nothing.
WITH

requests_of_day AS (
    SELECT account_id, prompt_hash, ts, epoch_us(ts) AS ts_us
    FROM requests
    WHERE ts >= $day::DATE::TIMESTAMPTZ AND ts < ($day::DATE + 1)::TIMESTAMPTZ
        AND prompt_hash IS NOT NULL
),

rare_prompts AS (
    SELECT prompt_hash
    FROM requests_of_day
    GROUP BY prompt_hash
    HAVING count(DISTINCT account_id) BETWEEN 2 AND $max_accounts_per_prompt
),

cells AS (
    SELECT
        account_id,
        prompt_hash,
        ts_us // ($pair_minutes::DOUBLE * 60000000)::BIGINT AS slot,
        min(ts) AS first_at,
        min(ts_us) AS first_us,
        max(ts_us) AS last_us
    FROM requests_of_day
    SEMI JOIN rare_prompts USING (prompt_hash)
    GROUP BY account_id, prompt_hash, slot
),

neighbour_cells AS (
    SELECT
        account_id, prompt_hash, first_at, first_us, last_us,
        slot + unnest([-1, 0, 1]) AS probe_slot
    FROM cells
),

co_occurrences AS (
    SELECT
        a.account_id AS account_a,
        b.account_id AS account_b,
        a.prompt_hash,
        least(a.first_at, b.first_at) AS first_at
    FROM cells AS a
    INNER JOIN neighbour_cells AS b
        ON b.prompt_hash = a.prompt_hash
        AND b.probe_slot = a.slot
        AND a.account_id < b.account_id
        AND greatest(b.first_us - a.last_us, a.first_us - b.last_us)
            <= ($pair_minutes::DOUBLE * 60000000)::BIGINT
),

final AS (
    SELECT
        account_a,
        account_b,
        count(DISTINCT prompt_hash) AS shared_prompt_count,
        count(*) AS co_occurrence_count,
        min(first_at) AS first_co_occurrence_at
    FROM co_occurrences
    GROUP BY account_a, account_b
)

SELECT * FROM final
ORDER BY account_a, account_b
