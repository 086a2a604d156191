-- account_template_day: one row per account, day and prompt template: the prompt's first
-- eight words after numbers, quoted strings, code blocks and nonce-like tokens are masked,
-- hashed. An operator wrapping thousands of tasks in a few wrappers reuses a handful of
-- templates across its accounts; people start their prompts in many ways. Prompts without
-- text fall back to their prompt_hash (hashes-only logs: exact reuse only).
-- Input: requests (one day).
-- The masking is the day's costliest step, and a day's requests repeat their prompts: it
-- runs once per distinct prompt (text and hash) and is joined back to the requests. Keyed
-- by the exact text, not by prompt_hash alone: the hash folds white space (and a log may
-- carry its own), while the masking's quoted-string limit counts characters.
WITH prompts AS (
    SELECT DISTINCT prompt_text, prompt_hash
    FROM requests
    WHERE prompt_text IS NOT NULL OR prompt_hash IS NOT NULL
),

keyed AS (
    SELECT
        prompt_text,
        prompt_hash,
        CASE WHEN prompt_text IS NULL THEN 'hash:' || prompt_hash
            ELSE 'tpl:' || left(md5(prompt_template(prompt_text)), 16) END AS template_key
    FROM prompts
),

templated AS (
    SELECT r.account_id, k.template_key
    FROM requests AS r
    JOIN keyed AS k
        ON r.prompt_text IS NOT DISTINCT FROM k.prompt_text
        AND r.prompt_hash IS NOT DISTINCT FROM k.prompt_hash
    WHERE r.prompt_text IS NOT NULL OR r.prompt_hash IS NOT NULL
)

SELECT account_id, template_key, count(*)::BIGINT AS request_count
FROM templated
GROUP BY account_id, template_key
ORDER BY account_id, template_key
