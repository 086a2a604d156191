-- adapt_litellm: one row per record of a LiteLLM spend log (a row of its LiteLLM_SpendLogs
-- table: a CSV or Parquet export, or the PostgreSQL source), rewritten as a contract record
-- for sql/ingest_records.sql, which judges it like any other.
-- Input: source_records(source_line, text, raw, pre_reason, j): a reader's rows, j the
-- record as JSON when it is a JSON object (pipeline/adapters.py).
-- A record that is not a JSON object passes unchanged, so ingest_records names its fault;
-- raw keeps the source record, so the quarantine shows what the log held.
-- prompt_tokens is cache-inclusive (LiteLLM adds Anthropic's cache reads and writes to it,
-- like OpenAI's usage), so the contract's input_tokens is what remains after both; a count
-- that goes negative is an impossible value. startTime without an offset is UTC (Prisma's
-- timestamp(3) column). The account is the team, else the internal user, else the key (the
-- billing levels of a LiteLLM proxy, as named so an accounts table can join them); a row
-- with none of them has no account: missing.
WITH nested AS (
    SELECT
        *,
        json_doc(j -> 'metadata') AS metadata,
        json_doc(j -> 'proxy_server_request') AS proxy_request,
        json_doc(j -> 'messages') AS messages,
        json_doc(j -> 'response') AS response
    FROM source_records
),

fields AS (
    SELECT
        *,
        coalesce(metadata ->> '$.usage_object.cache_read_input_tokens',
                 metadata ->> '$.usage_object.prompt_tokens_details.cached_tokens',
                 metadata ->> '$.additional_usage_values.cache_read_input_tokens',
                 metadata ->> '$.additional_usage_values.prompt_tokens_details.cached_tokens')
            AS cache_read,
        coalesce(metadata ->> '$.usage_object.cache_creation_input_tokens',
                 metadata ->> '$.additional_usage_values.cache_creation_input_tokens')
            AS cache_creation,
        j ->> 'prompt_tokens' AS prompt_tokens,
        lower(coalesce(opt_text(j ->> 'status'), metadata ->> '$.status')) AS outcome,
        metadata ->> '$.error_information.error_code' AS error_code,
        coalesce(opt_text(j ->> 'team_id'), opt_text(j ->> 'user'), opt_text(j ->> 'api_key'))
            AS account_id,
        first_message(messages, ['user']) AS first_user,
        first_message(messages, ['system']) AS system_message
    FROM nested
),

final AS (
    SELECT
        source_line,
        pre_reason,
        CASE WHEN j IS NULL THEN text ELSE json_object(
            'request_id', j -> 'request_id',
            'ts', naive_utc(j ->> 'startTime'),
            'account_id', account_id,
            'api_key_id', j -> 'api_key',
            'source_ip', coalesce(opt_text(j ->> 'requester_ip_address'),
                                  metadata ->> '$.requester_ip_address'),
            'user_agent', proxy_request ->> '$.headers.user-agent',
            'model', coalesce(opt_text(j ->> 'model_group'), j ->> 'model'),
            'status', CASE
                WHEN outcome IS NULL OR outcome = 'success' THEN '200'
                ELSE opt_text(error_code) END,
            'input_tokens', uncached_tokens(prompt_tokens, cache_read, cache_creation),
            'output_tokens', j -> 'completion_tokens',
            'cache_creation_input_tokens', cache_creation,
            'cache_read_input_tokens', cache_read,
            'max_tokens', coalesce(proxy_request ->> '$.body.max_tokens',
                                   proxy_request ->> '$.body.max_completion_tokens'),
            'temperature', proxy_request ->> '$.body.temperature',
            'stop_reason', contract_stop_reason(response ->> '$.choices[0].finish_reason'),
            'latency_ms', coalesce(j ->> 'request_duration_ms', (
                epoch_ms(try_cast(naive_utc(j ->> 'endTime') AS TIMESTAMPTZ))
                - epoch_ms(try_cast(naive_utc(j ->> 'startTime') AS TIMESTAMPTZ)))::VARCHAR),
            'system_hash', sha256(message_text(system_message -> 'content')),
            'prompt_text', message_text(first_user -> 'content')
        )::VARCHAR END AS text,
        CASE WHEN j IS NULL THEN raw ELSE left(text, 4096) END AS raw
    FROM fields
)

SELECT source_line, text, raw, pre_reason FROM final
