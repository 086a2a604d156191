-- ingest_records: one row per record (non-blank line, CSV record or Parquet row) of one
-- input file: the contract's fields typed and normalized, the UTC day, and the first
-- quarantine rule the record breaks (reason NULL when it breaks none).
-- Input: raw_records(source_line, text, raw, pre_reason), made by a format's reader;
-- text is the record as JSON (NULL when its bytes were not UTF-8), raw what the quarantine
-- shows of it, pre_reason a reader's own verdict (a CSV line it could not split).
-- Parameters: $source_file. Duplicate request_ids are found later, across all files.
-- prompt_text is read as text in the same parse (a structured first turn, an array of
-- content blocks, is kept as its JSON text); the other fields as raw JSON, to check types.
WITH parsed AS (
    SELECT
        source_line, raw, pre_reason, text,
        CASE WHEN regexp_matches(text, '^\s*\{') THEN try(json_transform(text, '{
            "request_id": "JSON", "ts": "JSON", "account_id": "JSON", "api_key_id": "JSON",
            "source_ip": "JSON", "user_agent": "JSON", "model": "JSON", "status": "JSON",
            "input_tokens": "JSON", "output_tokens": "JSON",
            "cache_creation_input_tokens": "JSON", "cache_read_input_tokens": "JSON",
            "max_tokens": "JSON", "temperature": "JSON", "stop_reason": "JSON",
            "latency_ms": "JSON", "system_hash": "JSON", "prompt_hash": "JSON",
            "prompt_text": "VARCHAR"
        }')) END AS j
    FROM raw_records
),

texts AS (
    SELECT
        source_line, raw, pre_reason, text, j,
        json_text(j.request_id) AS x_request_id,
        json_text(j.ts) AS x_ts,
        json_text(j.account_id) AS x_account_id,
        json_text(j.api_key_id) AS x_api_key_id,
        trim(json_text(j.source_ip)) AS x_source_ip,
        json_text(j.user_agent) AS x_user_agent,
        json_text(j.model) AS x_model,
        json_text(j.status) AS x_status,
        json_text(j.input_tokens) AS x_input_tokens,
        json_text(j.output_tokens) AS x_output_tokens,
        json_text(j.cache_creation_input_tokens) AS x_cache_creation,
        json_text(j.cache_read_input_tokens) AS x_cache_read,
        json_text(j.max_tokens) AS x_max_tokens,
        json_text(j.temperature) AS x_temperature,
        json_text(j.stop_reason) AS x_stop_reason,
        json_text(j.latency_ms) AS x_latency_ms,
        json_text(j.system_hash) AS x_system_hash,
        json_text(j.prompt_hash) AS x_prompt_hash,
        j.prompt_text AS x_prompt_text
    FROM parsed
),

typed AS (
    SELECT
        *,
        nullif(trim(x_request_id), '') AS request_id,
        to_ts(x_ts) AS ts,
        nullif(trim(x_account_id), '') AS account_id,
        opt_text(x_api_key_id) AS api_key_id,
        nullif(x_source_ip, '') AS source_ip,
        opt_text(x_user_agent) AS user_agent,
        nullif(trim(x_model), '') AS model,
        to_int(x_status) AS status,
        to_int(x_input_tokens) AS input_tokens,
        to_int(x_output_tokens) AS output_tokens,
        to_int(x_cache_creation) AS cache_creation,
        to_int(x_cache_read) AS cache_read,
        to_int(x_max_tokens) AS max_tokens,
        to_float(x_temperature) AS temperature,
        opt_text(x_stop_reason) AS stop_reason,
        to_int(x_latency_ms) AS latency_ms,
        opt_text(x_system_hash) AS system_hash,
        opt_text(x_prompt_hash) AS given_prompt_hash,
        nullif(x_prompt_text, '') AS prompt_text
    FROM texts
),

judged AS (
    SELECT
        *,
        array_to_string(list_filter([
            CASE WHEN request_id IS NULL THEN 'request_id' END,
            CASE WHEN nullif(trim(x_ts), '') IS NULL THEN 'ts' END,
            CASE WHEN account_id IS NULL THEN 'account_id' END,
            CASE WHEN model IS NULL THEN 'model' END,
            CASE WHEN nullif(trim(x_status), '') IS NULL THEN 'status' END,
            CASE WHEN nullif(trim(x_input_tokens), '') IS NULL THEN 'input_tokens' END,
            CASE WHEN nullif(trim(x_output_tokens), '') IS NULL THEN 'output_tokens' END
        ], lambda x: x IS NOT NULL), ', ') AS missing_fields,
        array_to_string(list_filter([
            CASE WHEN NOT json_scalar(j.request_id) THEN 'request_id' END,
            CASE WHEN NOT json_scalar(j.ts) OR (x_ts IS NOT NULL AND ts IS NULL) THEN 'ts' END,
            CASE WHEN NOT json_scalar(j.account_id) THEN 'account_id' END,
            CASE WHEN NOT json_scalar(j.api_key_id) THEN 'api_key_id' END,
            CASE WHEN NOT json_scalar(j.source_ip)
                OR (source_ip IS NOT NULL AND NOT is_ipv4(source_ip) AND NOT is_ipv6(source_ip))
                THEN 'source_ip' END,
            CASE WHEN NOT json_scalar(j.user_agent) THEN 'user_agent' END,
            CASE WHEN NOT json_scalar(j.model) THEN 'model' END,
            CASE WHEN x_status IS NOT NULL AND status IS NULL THEN 'status' END,
            CASE WHEN x_input_tokens IS NOT NULL AND input_tokens IS NULL
                THEN 'input_tokens' END,
            CASE WHEN x_output_tokens IS NOT NULL AND output_tokens IS NULL
                THEN 'output_tokens' END,
            CASE WHEN x_cache_creation IS NOT NULL AND cache_creation IS NULL
                THEN 'cache_creation_input_tokens' END,
            CASE WHEN x_cache_read IS NOT NULL AND cache_read IS NULL
                THEN 'cache_read_input_tokens' END,
            CASE WHEN x_max_tokens IS NOT NULL AND max_tokens IS NULL THEN 'max_tokens' END,
            CASE WHEN x_temperature IS NOT NULL AND temperature IS NULL THEN 'temperature' END,
            CASE WHEN NOT json_scalar(j.stop_reason) THEN 'stop_reason' END,
            CASE WHEN x_latency_ms IS NOT NULL AND latency_ms IS NULL THEN 'latency_ms' END,
            CASE WHEN NOT json_scalar(j.system_hash) THEN 'system_hash' END,
            CASE WHEN NOT json_scalar(j.prompt_hash) THEN 'prompt_hash' END
        ], lambda x: x IS NOT NULL), ', ') AS wrong_type_fields,
        array_to_string(list_filter([
            CASE WHEN ts < TIMESTAMPTZ '2000-01-01 00:00:00+00'
                OR ts >= TIMESTAMPTZ '2100-01-01 00:00:00+00' THEN 'ts' END,
            CASE WHEN status NOT BETWEEN 100 AND 599 THEN 'status' END,
            CASE WHEN input_tokens < 0 THEN 'input_tokens' END,
            CASE WHEN output_tokens < 0 THEN 'output_tokens' END,
            CASE WHEN cache_creation < 0 THEN 'cache_creation_input_tokens' END,
            CASE WHEN cache_read < 0 THEN 'cache_read_input_tokens' END,
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
    WHERE j IS NOT NULL OR text IS NULL OR NOT regexp_full_match(text, '\s*')
)

SELECT
    $source_file AS source_file,
    source_line,
    request_id, ts, account_id, api_key_id, source_ip, user_agent, model, status,
    input_tokens, output_tokens,
    coalesce(cache_creation, 0) AS cache_creation_input_tokens,
    coalesce(cache_read, 0) AS cache_read_input_tokens,
    max_tokens, temperature, stop_reason, latency_ms, system_hash,
    CASE WHEN reason IS NULL THEN coalesce(given_prompt_hash, prompt_text_hash(prompt_text)) END
        AS prompt_hash,
    prompt_text,
    CASE WHEN reason IS NULL THEN ip_prefix(source_ip) END AS ip_prefix,
    CASE WHEN ts >= TIMESTAMPTZ '2000-01-01 00:00:00+00'
        AND ts < TIMESTAMPTZ '2100-01-01 00:00:00+00' THEN ts::DATE END AS day,
    reason,
    CASE reason
        WHEN 'missing required field' THEN missing_fields
        WHEN 'wrong type' THEN wrong_type_fields
        WHEN 'negative or impossible value' THEN impossible_fields
    END AS reason_fields,
    CASE WHEN reason IS NOT NULL
        THEN left(rtrim(coalesce(raw, text), chr(10) || chr(13)), 4096) END AS raw_text
FROM final
