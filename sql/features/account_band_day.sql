-- account_band_day: one row per account, UTC hour and near-duplicate band key: the account
-- sent a prompt whose MinHash signature has this band in that hour. Two prompts that differ only
-- in numbers, nonces, a paraphrased opener or a wrapper share most word 3-grams, and so,
-- with high probability, at least one band; that is the key linking uses for "the same
-- prompt, disguised", and the hour keeps it to prompts sent close together: researchers
-- who run the same benchmark on different days share bands but not band-hours, while an
-- operator re-sampling one prompt across accounts does it within minutes. One-permutation MinHash (one hash per shingle, the minimum kept per
-- bin) keeps it to one pass over the shingles, in SQL, with no per-row Python. The
-- signature is made once per prompt_hash, from its least text: the same text on every
-- run (a hash derived from the text is shared only by texts that differ in white space,
-- which the words ignore). Each shingle is hashed where it is made, so the day's shingles
-- are held as 8-byte numbers rather than as strings.
-- Input: requests (one day). Parameters: $bins, $rows_per_band, $min_words.
WITH prompts AS (
    SELECT account_id, prompt_hash, date_trunc('hour', ts) AS hour_at, count(*) AS request_count
    FROM requests
    WHERE prompt_text IS NOT NULL AND prompt_hash IS NOT NULL
    GROUP BY account_id, prompt_hash, hour_at
),

texts AS (
    SELECT prompt_hash, min(prompt_text) AS prompt_text
    FROM requests
    WHERE prompt_text IS NOT NULL AND prompt_hash IS NOT NULL
    GROUP BY prompt_hash
),

-- Materialized: inlined, the words' list was computed twice, once for the length filter
-- below and once for the shingles.
words AS MATERIALIZED (
    SELECT
        prompt_hash,
        list_transform(
            list_filter(string_split_regex(lower(prompt_text), '[^\p{L}\p{N}]+'),
                lambda w: w <> ''),
            lambda w: CASE
                WHEN regexp_full_match(w, '\d+') THEN '#d'
                WHEN length(w) >= 6 AND regexp_matches(w, '\d') THEN '#n'
                ELSE w END
        ) AS w
    FROM texts
),

shingles AS (
    SELECT
        prompt_hash,
        unnest(list_transform(range(1, len(w) - 1),
            lambda i: hash(w[i] || ' ' || w[i + 1] || ' ' || w[i + 2]))) AS shingle_hash
    FROM words
    WHERE len(w) >= $min_words
),

-- $bins is cast to the hash's type: a UBIGINT divided by an INTEGER parameter is HUGEINT
-- arithmetic, which made this the query's costliest step (the seedday day: 22 -> 12 s, the
-- same rows).
bins AS (
    SELECT prompt_hash, shingle_hash % $bins::UBIGINT AS bin,
        min(shingle_hash // $bins::UBIGINT) AS low
    FROM shingles
    GROUP BY ALL
),

bands AS (
    SELECT
        prompt_hash,
        bin // $rows_per_band AS band,
        hash(band, list(bin::VARCHAR || ':' || low::VARCHAR ORDER BY bin)) AS band_key
    FROM bins
    GROUP BY prompt_hash, band
),

-- A prompt's band keys, each once: with prompts one row per (account, prompt, hour), the
-- join below has one row per prompt of an account-hour-band, so count(*) counts its
-- distinct prompts without a DISTINCT aggregate, which held every group's set of hashes
-- (the seedday day's query alone: 3.0 -> 1.9 GiB of RSS, same rows).
prompt_bands AS (
    SELECT DISTINCT prompt_hash, band_key
    FROM bands
),

final AS (
    SELECT
        p.account_id,
        p.hour_at,
        b.band_key,
        sum(p.request_count)::BIGINT AS request_count,
        count(*)::BIGINT AS prompt_count
    FROM prompts AS p
    JOIN prompt_bands AS b USING (prompt_hash)
    GROUP BY p.account_id, p.hour_at, b.band_key
)

SELECT * FROM final ORDER BY account_id, hour_at, band_key
