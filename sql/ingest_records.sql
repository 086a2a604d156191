-- ingest_records: one row per record (non-blank line, CSV record or Parquet row) of one
-- input file: the contract's fields typed and normalized, the UTC day, and the first
-- quarantine rule the record breaks (reason NULL when it breaks none).
-- Input: raw_records(source_line, text, raw, pre_reason), made by a format's reader;
-- text is the record as JSON (NULL when its bytes were not UTF-8), raw what the quarantine
-- shows of it, pre_reason a reader's own verdict (a CSV line it could not split).
-- Parameters: $source_file. Duplicate request_ids are found later, across all files.
WITH parsed AS (
    SELECT
        source_line,
        raw,
        pre_reason,
        text,
        CASE WHEN json_type(try(text::JSON)) = 'OBJECT' THEN json_transform(text, '{
            "request_id": "JSON", "ts": "JSON", "account_id": "JSON", "api_key_id": "JSON",
            "source_ip": "JSON", "user_agent": "JSON", "model": "JSON", "status": "JSON",
            "input_tokens": "JSON", "output_tokens": "JSON",
            "cache_creation_input_tokens": "JSON", "cache_read_input_tokens": "JSON",
            "max_tokens": "JSON", "temperature": "JSON", "stop_reason": "JSON",
            "latency_ms": "JSON", "system_hash": "JSON", "prompt_hash": "JSON",
            "prompt_text": "JSON"
        }') END AS j
    FROM raw_records
),

fields AS (
    SELECT
        source_line, raw, pre_reason, text, j,
        json_type(j.request_id) AS t_request_id, j.request_id ->> '$' AS v_request_id,
        json_type(j.ts) AS t_ts, j.ts ->> '$' AS v_ts,
        json_type(j.account_id) AS t_account_id, j.account_id ->> '$' AS v_account_id,
        json_type(j.api_key_id) AS t_api_key_id, j.api_key_id ->> '$' AS v_api_key_id,
        json_type(j.source_ip) AS t_source_ip, trim(j.source_ip ->> '$') AS v_source_ip,
        json_type(j.user_agent) AS t_user_agent, j.user_agent ->> '$' AS v_user_agent,
        json_type(j.model) AS t_model, j.model ->> '$' AS v_model,
        json_type(j.status) AS t_status, j.status ->> '$' AS v_status,
        json_type(j.input_tokens) AS t_input_tokens, j.input_tokens ->> '$' AS v_input_tokens,
        json_type(j.output_tokens) AS t_output_tokens,
        j.output_tokens ->> '$' AS v_output_tokens,
        json_type(j.cache_creation_input_tokens) AS t_cache_creation,
        j.cache_creation_input_tokens ->> '$' AS v_cache_creation,
        json_type(j.cache_read_input_tokens) AS t_cache_read,
        j.cache_read_input_tokens ->> '$' AS v_cache_read,
        json_type(j.max_tokens) AS t_max_tokens, j.max_tokens ->> '$' AS v_max_tokens,
        json_type(j.temperature) AS t_temperature, j.temperature ->> '$' AS v_temperature,
        json_type(j.stop_reason) AS t_stop_reason, j.stop_reason ->> '$' AS v_stop_reason,
        json_type(j.latency_ms) AS t_latency_ms, j.latency_ms ->> '$' AS v_latency_ms,
        json_type(j.system_hash) AS t_system_hash, j.system_hash ->> '$' AS v_system_hash,
        json_type(j.prompt_hash) AS t_prompt_hash, j.prompt_hash ->> '$' AS v_prompt_hash,
        json_type(j.prompt_text) AS t_prompt_text, j.prompt_text ->> '$' AS v_prompt_text
    FROM parsed
),

typed AS (
    SELECT
        *,
        nullif(trim(v_request_id), '') AS request_id,
        to_ts(t_ts, v_ts) AS ts,
        nullif(trim(v_account_id), '') AS account_id,
        opt_text(v_api_key_id) AS api_key_id,
        nullif(v_source_ip, '') AS source_ip,
        opt_text(v_user_agent) AS user_agent,
        nullif(trim(v_model), '') AS model,
        to_int(t_status, v_status) AS status,
        to_int(t_input_tokens, v_input_tokens) AS input_tokens,
        to_int(t_output_tokens, v_output_tokens) AS output_tokens,
        coalesce(to_int(t_cache_creation, v_cache_creation), 0) AS cache_creation_input_tokens,
        coalesce(to_int(t_cache_read, v_cache_read), 0) AS cache_read_input_tokens,
        to_int(t_max_tokens, v_max_tokens) AS max_tokens,
        to_float(t_temperature, v_temperature) AS temperature,
        opt_text(v_stop_reason) AS stop_reason,
        to_int(t_latency_ms, v_latency_ms) AS latency_ms,
        opt_text(v_system_hash) AS system_hash,
        coalesce(opt_text(v_prompt_hash), prompt_text_hash(nullif(v_prompt_text, '')))
            AS prompt_hash,
        nullif(v_prompt_text, '') AS prompt_text,
        array_to_string(list_filter([
            CASE WHEN nullif(trim(v_request_id), '') IS NULL THEN 'request_id' END,
            CASE WHEN nullif(trim(v_ts), '') IS NULL THEN 'ts' END,
            CASE WHEN nullif(trim(v_account_id), '') IS NULL THEN 'account_id' END,
            CASE WHEN nullif(trim(v_model), '') IS NULL THEN 'model' END,
            CASE WHEN nullif(trim(v_status), '') IS NULL THEN 'status' END,
            CASE WHEN nullif(trim(v_input_tokens), '') IS NULL THEN 'input_tokens' END,
            CASE WHEN nullif(trim(v_output_tokens), '') IS NULL THEN 'output_tokens' END
        ], lambda x: x IS NOT NULL), ', ') AS missing_fields,
        array_to_string(list_filter([
            CASE WHEN NOT text_ok(t_request_id) THEN 'request_id' END,
            CASE WHEN NOT ts_ok(t_ts, v_ts) THEN 'ts' END,
            CASE WHEN NOT text_ok(t_account_id) THEN 'account_id' END,
            CASE WHEN NOT text_ok(t_api_key_id) THEN 'api_key_id' END,
            CASE WHEN NOT text_ok(t_source_ip) OR NOT ip_ok(nullif(v_source_ip, ''))
                THEN 'source_ip' END,
            CASE WHEN NOT text_ok(t_user_agent) THEN 'user_agent' END,
            CASE WHEN NOT text_ok(t_model) THEN 'model' END,
            CASE WHEN NOT int_ok(t_status, v_status) THEN 'status' END,
            CASE WHEN NOT int_ok(t_input_tokens, v_input_tokens) THEN 'input_tokens' END,
            CASE WHEN NOT int_ok(t_output_tokens, v_output_tokens) THEN 'output_tokens' END,
            CASE WHEN NOT int_ok(t_cache_creation, v_cache_creation)
                THEN 'cache_creation_input_tokens' END,
            CASE WHEN NOT int_ok(t_cache_read, v_cache_read)
                THEN 'cache_read_input_tokens' END,
            CASE WHEN NOT int_ok(t_max_tokens, v_max_tokens) THEN 'max_tokens' END,
            CASE WHEN NOT float_ok(t_temperature, v_temperature) THEN 'temperature' END,
            CASE WHEN NOT text_ok(t_stop_reason) THEN 'stop_reason' END,
            CASE WHEN NOT int_ok(t_latency_ms, v_latency_ms) THEN 'latency_ms' END,
            CASE WHEN NOT text_ok(t_system_hash) THEN 'system_hash' END,
            CASE WHEN NOT text_ok(t_prompt_hash) THEN 'prompt_hash' END,
            CASE WHEN NOT text_ok(t_prompt_text) THEN 'prompt_text' END
        ], lambda x: x IS NOT NULL), ', ') AS wrong_type_fields
    FROM fields
),

judged AS (
    SELECT
        *,
        array_to_string(list_filter([
            CASE WHEN ts < TIMESTAMPTZ '2000-01-01 00:00:00+00'
                OR ts >= TIMESTAMPTZ '2100-01-01 00:00:00+00' THEN 'ts' END,
            CASE WHEN status NOT BETWEEN 100 AND 599 THEN 'status' END,
            CASE WHEN input_tokens < 0 THEN 'input_tokens' END,
            CASE WHEN output_tokens < 0 THEN 'output_tokens' END,
            CASE WHEN cache_creation_input_tokens < 0 THEN 'cache_creation_input_tokens' END,
            CASE WHEN cache_read_input_tokens < 0 THEN 'cache_read_input_tokens' END,
            CASE WHEN max_tokens < 1 THEN 'max_tokens' END,
            CASE WHEN temperature NOT BETWEEN 0 AND 2 THEN 'temperature' END,
            CASE WHEN latency_ms < 0 THEN 'latency_ms' END
        ], lambda x: x IS NOT NULL), ', ') AS impossible_fields
    FROM typed
),

final AS (
    SELECT
        *,
        CASE
            WHEN pre_reason IS NOT NULL THEN pre_reason
            WHEN text IS NULL THEN 'undecodable bytes'
            WHEN j IS NULL THEN 'malformed record'
            WHEN missing_fields <> '' THEN 'missing required field'
            WHEN wrong_type_fields <> '' THEN 'wrong type'
            WHEN impossible_fields <> '' THEN 'negative or impossible value'
        END AS reason
    FROM judged
)

SELECT
    $source_file AS source_file,
    source_line,
    request_id, ts, account_id, api_key_id, source_ip, user_agent, model, status,
    input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
    max_tokens, temperature, stop_reason, latency_ms, system_hash, prompt_hash, prompt_text,
    ip_prefix(source_ip) AS ip_prefix,
    CASE WHEN ts >= TIMESTAMPTZ '2000-01-01 00:00:00+00'
        AND ts < TIMESTAMPTZ '2100-01-01 00:00:00+00' THEN ts::DATE END AS day,
    reason,
    CASE reason
        WHEN 'missing required field' THEN missing_fields
        WHEN 'wrong type' THEN wrong_type_fields
        WHEN 'negative or impossible value' THEN impossible_fields
    END AS reason_fields,
    CASE WHEN reason IS NOT NULL THEN left(coalesce(raw, text), 4096) END AS raw_text
FROM final
