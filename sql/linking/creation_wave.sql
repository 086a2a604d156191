-- creation_wave: one row per creation bucket ($burst_minutes wide, as account_link_key's
-- created_burst keys) in which at least two accounts of the window ($start..$end) were
-- created: how many were (account_count) and how many the window's own creations predict
-- there by chance (expected_count). The chance count is the largest of three rates the
-- data's ordinary rhythms give, so that none of them is taken for an operator:
--   time_of_day_rate: accounts created in the same bucket of the day on the other days
--     within $wave_context_days either side (those inside the creation span), per such day:
--     sign-ups follow the clock;
--   day_rate: accounts created on the same day outside the bucket, per other bucket of the
--     day: a launch day is busy all day, not in one bucket;
--   span_rate: the window's accounts over the buckets of their creation span: the floor
--     where the neighbourhood is empty.
-- linking.py adds the Poisson tail of account_count against expected_count (surprise), the
-- bar -log10(alpha / span_buckets) (Bonferroni over every bucket of the span), and wave:
-- a run of adjacent buckets past the bar is one wave, named by its first bucket. A wave's
-- accounts are one registrant, as a card's are (account_link_key's creation_wave keys).
-- Input: accounts, account_day. Parameters: $start, $end, $burst_minutes,
-- $wave_context_days.
WITH seen AS (
    SELECT DISTINCT account_id FROM account_day WHERE date BETWEEN $start AND $end
),

buckets AS (
    SELECT
        time_bucket(to_minutes($burst_minutes::INTEGER), created_at) AS bucket_at,
        count(*) AS account_count
    FROM accounts SEMI JOIN seen USING (account_id)
    WHERE created_at IS NOT NULL
    GROUP BY ALL
),

clocked AS (
    SELECT
        bucket_at,
        account_count,
        bucket_at::DATE AS day,
        bucket_at - date_trunc('day', bucket_at) AS clock
    FROM buckets
),

span AS (
    SELECT
        sum(account_count) AS accounts,
        min(day) AS first_day,
        max(day) AS last_day,
        ((epoch(max(bucket_at)) - epoch(min(bucket_at))) // ($burst_minutes * 60))::BIGINT + 1
            AS span_buckets
    FROM clocked
),

days AS (
    SELECT day, sum(account_count) AS account_count FROM clocked GROUP BY day
),

same_clock AS (
    SELECT b.bucket_at, sum(o.account_count) AS account_count
    FROM clocked AS b
    JOIN clocked AS o
        ON o.clock = b.clock AND o.day <> b.day
        AND o.day BETWEEN b.day - $wave_context_days::INTEGER
            AND b.day + $wave_context_days::INTEGER
    WHERE b.account_count >= 2
    GROUP BY b.bucket_at
),

rated AS (
    SELECT
        b.bucket_at,
        b.account_count,
        coalesce(c.account_count, 0)::DOUBLE / nullif(
            least(b.day + $wave_context_days::INTEGER, s.last_day)
            - greatest(b.day - $wave_context_days::INTEGER, s.first_day), 0)
            AS time_of_day_rate,
        (d.account_count - b.account_count)::DOUBLE / (1440 // $burst_minutes - 1)
            AS day_rate,
        s.accounts::DOUBLE / s.span_buckets AS span_rate,
        s.span_buckets
    FROM clocked AS b
    JOIN days AS d USING (day)
    CROSS JOIN span AS s
    LEFT JOIN same_clock AS c USING (bucket_at)
    WHERE b.account_count >= 2
)

SELECT
    strftime(bucket_at, '%Y-%m-%dT%H:%M') AS bucket,
    bucket_at,
    account_count,
    coalesce(time_of_day_rate, 0.0) AS time_of_day_rate,
    day_rate,
    span_rate,
    greatest(coalesce(time_of_day_rate, 0.0), day_rate, span_rate) AS expected_count,
    span_buckets
FROM rated
ORDER BY bucket_at
