-- adapt_openai: one row per line of an OpenAI-compatible gateway's request log, rewritten as
-- a contract record for sql/ingest_records.sql, which judges it like any other.
-- A line is the gateway's envelope (request_id, timestamp, status_code, organization,
-- api_key_id, client_ip, user_agent, latency_ms) around the Chat Completions request body
-- (request: model, messages, max_tokens or max_completion_tokens, temperature) and the
-- response object (response: id, created, model, choices[].finish_reason, usage).
-- Input: source_records(source_line, text, raw, pre_reason, j): a reader's rows, j the
-- record as JSON when it is a JSON object (pipeline/adapters.py).
-- A record that is not a JSON object passes unchanged, so ingest_records names its fault;
-- raw keeps the source record, so the quarantine shows what the log held.
-- usage.prompt_tokens includes prompt_tokens_details.cached_tokens (the cache reads); the
-- API reports no cache writes, so cache_creation_input_tokens is absent (0). A refused
-- request (status 400 and up) without a usage object used no tokens: 0, so that a 429 is
-- kept for the failover evidence. Without timestamp, the response's created (seconds).
-- The account is the organization (OpenAI's billing unit), else the key.
WITH fields AS (
    SELECT
        *,
        json_doc(j -> 'request') AS body,
        json_doc(j -> 'response') AS response,
        j ->> 'status_code' AS status,
        to_int(j ->> 'status_code') >= 400 AND (json_doc(j -> 'response') -> 'usage') IS NULL
            AS refused
    FROM source_records
),

messages AS (
    SELECT
        *,
        response ->> '$.usage.prompt_tokens_details.cached_tokens' AS cache_read,
        first_message(body -> 'messages', ['user']) AS first_user,
        first_message(body -> 'messages', ['system', 'developer']) AS system_message
    FROM fields
),

final AS (
    SELECT
        source_line,
        pre_reason,
        CASE WHEN j IS NULL THEN text ELSE json_object(
            'request_id', coalesce(opt_text(j ->> 'request_id'), response ->> 'id'),
            'ts', coalesce(j ->> 'timestamp',
                           (to_int(response ->> 'created') * 1000)::VARCHAR),
            'account_id', coalesce(opt_text(j ->> 'organization'), opt_text(j ->> 'api_key_id')),
            'api_key_id', j -> 'api_key_id',
            'source_ip', j -> 'client_ip',
            'user_agent', j -> 'user_agent',
            'model', coalesce(opt_text(body ->> 'model'), response ->> 'model'),
            'status', status,
            'input_tokens', CASE WHEN refused THEN '0' ELSE uncached_tokens(
                response ->> '$.usage.prompt_tokens', cache_read, NULL) END,
            'output_tokens', CASE WHEN refused THEN '0'
                ELSE response ->> '$.usage.completion_tokens' END,
            'cache_read_input_tokens', cache_read,
            'max_tokens', coalesce(body ->> 'max_completion_tokens', body ->> 'max_tokens'),
            'temperature', body ->> 'temperature',
            'stop_reason', contract_stop_reason(response ->> '$.choices[0].finish_reason'),
            'latency_ms', j -> 'latency_ms',
            'system_hash', sha256(message_text(system_message -> 'content')),
            'prompt_text', message_text(first_user -> 'content')
        )::VARCHAR END AS text,
        CASE WHEN j IS NULL THEN raw ELSE left(text, 4096) END AS raw
    FROM messages
)

SELECT source_line, text, raw, pre_reason FROM final
