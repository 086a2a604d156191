-- account_capability_day: one row per account, day and capability category of its prompts:
-- how many requests asked for it, how many of those elicit chain-of-thought, their prompt
-- length and how many are written in a non-Latin script. The category is the first of a
-- fixed lexicon's rules that a prompt matches (macro prompt_capability in macros.sql,
-- documented in the README); prompts without text are 'unknown' (hashes-only logs).
-- Input: requests (one day).
-- The lexicon's regular expressions are the day's costliest step, and a day's requests
-- repeat their prompts: they run once per distinct prompt text (no text is one more),
-- joined back to the requests (by the exact text: prompt_hash folds white space, which the
-- length counts).
WITH texts AS (
    SELECT DISTINCT prompt_text
    FROM requests
),

classified_texts AS (
    SELECT
        prompt_text,
        prompt_capability(prompt_text) AS capability,
        prompt_text IS NOT NULL AND prompt_elicits_reasoning(prompt_text) AS elicits_reasoning,
        length(prompt_text) AS prompt_chars,
        prompt_text IS NOT NULL AND regexp_matches(prompt_text,
            '[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Cyrillic}\p{Arabic}\p{Devanagari}\p{Thai}\p{Greek}\p{Hebrew}]')
            AS non_latin
    FROM texts
),

classified AS (
    SELECT r.account_id, t.capability, t.elicits_reasoning, t.prompt_chars, t.non_latin
    FROM requests AS r
    JOIN classified_texts AS t ON r.prompt_text IS NOT DISTINCT FROM t.prompt_text
),

final AS (
    SELECT
        account_id,
        capability,
        count(*)::BIGINT AS request_count,
        count(*) FILTER (WHERE elicits_reasoning)::BIGINT AS reasoning_elicited_count,
        coalesce(sum(prompt_chars), 0)::BIGINT AS prompt_chars_sum,
        count(*) FILTER (WHERE non_latin)::BIGINT AS non_latin_count
    FROM classified
    GROUP BY account_id, capability
)

SELECT * FROM final ORDER BY account_id, capability
