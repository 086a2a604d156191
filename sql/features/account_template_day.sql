-- account_template_day: one row per account, day and prompt template: the prompt's first
-- eight words after numbers, quoted strings, code blocks and nonce-like tokens are masked,
-- hashed. An operator wrapping thousands of tasks in a few wrappers reuses a handful of
-- templates across its accounts; people start their prompts in many ways. Prompts without
-- text fall back to their prompt_hash (hashes-only logs: exact reuse only).
-- Input: requests (one day).
WITH templated AS (
    SELECT
        account_id,
        CASE WHEN prompt_text IS NULL THEN 'hash:' || prompt_hash
            ELSE 'tpl:' || left(md5(prompt_template(prompt_text)), 16) END AS template_key
    FROM requests
    WHERE prompt_text IS NOT NULL OR prompt_hash IS NOT NULL
)

SELECT account_id, template_key, count(*)::BIGINT AS request_count
FROM templated
GROUP BY account_id, template_key
ORDER BY account_id, template_key
