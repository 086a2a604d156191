-- adapt_otel: one row per GenAI inference span (gen_ai.operation.name chat,
-- text_completion or generate_content) of an OTLP/JSON trace export (one
-- ExportTraceServiceRequest a line, as the OpenTelemetry file exporter writes it), rewritten
-- as a contract record for sql/ingest_records.sql, which judges it like any other.
-- Other spans (HTTP, database, tool and agent spans) are not requests and are not records,
-- like blank lines; a line that is not an OTLP object passes unchanged as one record, so
-- ingest_records names its fault.
-- Input: source_records(source_line, text, raw, pre_reason, j): a reader's rows, j the
-- record as JSON when it is a JSON object (pipeline/adapters.py).
-- source_line: line L's k-th span is L * 1,000,000 + k (an exporter's batch is hundreds of
-- spans), so every record keeps a key of its own and its line can be read back.
-- gen_ai.usage.input_tokens includes the cache reads and writes (the convention's note);
-- an error span without usage used no tokens (0); the HTTP status is
-- http.response.status_code, else error.type when it is one, else 200 for a span whose
-- status is not ERROR; an ERROR span with neither has no status (missing).
WITH passed AS (
    SELECT source_line * 1000000 AS source_line, text, raw, pre_reason
    FROM source_records
    WHERE j IS NULL OR (j -> 'resourceSpans') IS NULL
),

resource_spans AS (
    SELECT r.source_line, rs.value AS resource_span, rs.i AS rs_i
    FROM source_records AS r,
        unnest(json_extract(r.j, '$.resourceSpans[*]')) WITH ORDINALITY AS rs(value, i)
    WHERE (r.j -> 'resourceSpans') IS NOT NULL
),

scope_spans AS (
    SELECT source_line, rs_i, ss.value AS scope_span, ss.i AS ss_i
    FROM resource_spans,
        unnest(json_extract(resource_span, '$.scopeSpans[*]')) WITH ORDINALITY AS ss(value, i)
),

spans AS (
    SELECT
        source_line, sp.value AS span,
        row_number() OVER (PARTITION BY source_line ORDER BY rs_i, ss_i, sp.i) AS position,
        list_transform(json_extract(sp.value, '$.attributes[*]'),
            lambda a: struct_pack(k := a ->> 'key', v := otel_value(a -> 'value'))) AS entries
    FROM scope_spans, unnest(json_extract(scope_span, '$.spans[*]')) WITH ORDINALITY AS sp(value, i)
),

-- An attribute named twice keeps its first value (OTLP forbids repeats; a map cannot hold
-- them), and one without a key is dropped.
attributed AS (
    SELECT
        *,
        map_from_entries(list_filter(entries, lambda e, i: e.k IS NOT NULL
            AND list_position(list_transform(entries, lambda x: x.k), e.k) = i)) AS attr
    FROM spans
),

inference AS (
    SELECT
        *,
        attr['gen_ai.usage.cache_read.input_tokens'] AS cache_read,
        attr['gen_ai.usage.cache_creation.input_tokens'] AS cache_creation,
        coalesce((span ->> '$.status.code') IN ('2', 'STATUS_CODE_ERROR'), false) AS is_error,
        try_cast(span ->> 'startTimeUnixNano' AS BIGINT) AS start_ns,
        try_cast(span ->> 'endTimeUnixNano' AS BIGINT) AS end_ns,
        try(json(attr['gen_ai.input.messages'])) AS input_messages,
        try(json(attr['gen_ai.system_instructions'])) AS system_instructions
    FROM attributed
    WHERE attr['gen_ai.operation.name'] IN ('chat', 'text_completion', 'generate_content')
),

statused AS (
    SELECT
        *,
        coalesce(attr['http.response.status_code'],
                 CASE WHEN regexp_full_match(attr['error.type'], '[1-5]\d\d')
                     THEN attr['error.type'] END,
                 CASE WHEN NOT is_error THEN '200' END) AS status,
        is_error AND attr['gen_ai.usage.input_tokens'] IS NULL
            AND attr['gen_ai.usage.output_tokens'] IS NULL AS refused,
        first_message(input_messages, ['user']) AS first_user
    FROM inference
),

mapped AS (
    SELECT
        source_line * 1000000 + position AS source_line,
        json_object(
            'request_id', (span ->> 'traceId') || ':' || (span ->> 'spanId'),
            'ts', CASE WHEN start_ns IS NOT NULL
                THEN strftime(make_timestamp(start_ns // 1000), '%Y-%m-%dT%H:%M:%S.%fZ')
                ELSE span ->> 'startTimeUnixNano' END,
            'account_id', coalesce(attr['user.id'], attr['enduser.id']),
            'source_ip', attr['client.address'],
            'user_agent', attr['user_agent.original'],
            'model', coalesce(attr['gen_ai.request.model'], attr['gen_ai.response.model']),
            'status', status,
            'input_tokens', CASE WHEN refused THEN '0' ELSE uncached_tokens(
                attr['gen_ai.usage.input_tokens'], cache_read, cache_creation) END,
            'output_tokens', CASE WHEN refused THEN '0'
                ELSE attr['gen_ai.usage.output_tokens'] END,
            'cache_creation_input_tokens', cache_creation,
            'cache_read_input_tokens', cache_read,
            'max_tokens', attr['gen_ai.request.max_tokens'],
            'temperature', attr['gen_ai.request.temperature'],
            'stop_reason', contract_stop_reason(attr['gen_ai.response.finish_reasons']),
            'latency_ms', ((end_ns - start_ns) // 1000000)::VARCHAR,
            'system_hash', sha256(list_filter(json_extract(system_instructions, '$[*]'),
                lambda p: (p ->> 'type') = 'text')[1] ->> 'content'),
            'prompt_text', list_filter(json_extract(first_user, '$.parts[*]'),
                lambda p: (p ->> 'type') = 'text')[1] ->> 'content'
        )::VARCHAR AS text,
        left(span::VARCHAR, 4096) AS raw,
        CASE WHEN position >= 1000000 THEN 'malformed record' END AS pre_reason
    FROM statused
)

SELECT source_line, text, raw, pre_reason FROM passed
UNION ALL
SELECT source_line, text, raw, pre_reason FROM mapped
