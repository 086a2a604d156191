"""Derive the adapters' samples from the sample's first eight hours (kept small: the tests run
the whole pipeline on each): the same requests as LiteLLM's
spend logs (Parquet), an OpenAI-style gateway's log and an OTLP/JSON trace export (both gzip
JSONL), so that ``forensics run --format X`` has a real-shaped input for each adapter.

Run from the repository's root: ``.venv/bin/python data/sample/formats/derive.py``. The same
sample gives the same rows (the files' bytes may differ by compressor version). Each
format keeps what its logs can carry: no system prompt text exists in the contract sample
(only its hash), so no format carries a system prompt; the OpenAI usage object has no cache
writes, so they fold into its uncached input tokens; LiteLLM keeps milliseconds.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
DAY_FILE = HERE.parent / "logs" / "requests-2026-04-01.jsonl.gz"

CONTRACT = """
CREATE TABLE contract AS
SELECT
    request_id, ts::TIMESTAMPTZ AS ts, account_id, api_key_id, source_ip, user_agent, model,
    status, input_tokens, output_tokens,
    coalesce(cache_creation_input_tokens, 0) AS cache_creation,
    coalesce(cache_read_input_tokens, 0) AS cache_read,
    max_tokens, temperature, stop_reason, coalesce(latency_ms, 0) AS latency_ms, prompt_text,
    CASE stop_reason WHEN 'end_turn' THEN 'stop' WHEN 'max_tokens' THEN 'length'
        WHEN 'tool_use' THEN 'tool_calls' ELSE stop_reason END AS finish_reason,
    row_number() OVER (ORDER BY ts, request_id) AS n
FROM read_json($path, format = 'newline_delimited', columns = {
    request_id: 'VARCHAR', ts: 'VARCHAR', account_id: 'VARCHAR', api_key_id: 'VARCHAR',
    source_ip: 'VARCHAR', user_agent: 'VARCHAR', model: 'VARCHAR', status: 'INTEGER',
    input_tokens: 'BIGINT', output_tokens: 'BIGINT', cache_creation_input_tokens: 'BIGINT',
    cache_read_input_tokens: 'BIGINT', max_tokens: 'BIGINT', temperature: 'DOUBLE',
    stop_reason: 'VARCHAR', latency_ms: 'BIGINT', prompt_text: 'VARCHAR'})
WHERE ts::TIMESTAMPTZ < TIMESTAMPTZ '2026-04-01 08:00:00+00'
"""

LITELLM = """
SELECT
    request_id, 'acompletion' AS call_type, coalesce(api_key_id, '') AS api_key, 0.0 AS spend,
    input_tokens + cache_creation + cache_read + output_tokens AS total_tokens,
    input_tokens + cache_creation + cache_read AS prompt_tokens,
    output_tokens AS completion_tokens,
    date_trunc('millisecond', timezone('UTC', ts)) AS "startTime",
    date_trunc('millisecond', timezone('UTC', ts)) + to_milliseconds(latency_ms) AS "endTime",
    latency_ms::INTEGER AS request_duration_ms,
    model, model AS model_group, account_id AS team_id, '' AS "user",
    source_ip AS requester_ip_address,
    CASE WHEN status < 400 THEN 'success' ELSE 'failure' END AS status,
    json_object(
        'status', CASE WHEN status < 400 THEN 'success' ELSE 'failure' END,
        'requester_ip_address', source_ip,
        'usage_object', json_object('prompt_tokens', input_tokens + cache_creation + cache_read,
            'completion_tokens', output_tokens, 'cache_read_input_tokens', cache_read,
            'cache_creation_input_tokens', cache_creation),
        'error_information', CASE WHEN status >= 400
            THEN json_object('error_code', status::VARCHAR) END)::VARCHAR AS metadata,
    CASE WHEN prompt_text IS NULL THEN '{}' ELSE json_array(json_object(
        'role', 'user', 'content', prompt_text))::VARCHAR END AS messages,
    json_object('choices', json_array(json_object('index', 0,
        'finish_reason', finish_reason)))::VARCHAR AS response,
    json_object('headers', json_object('user-agent', user_agent),
        'body', json_object('model', model, 'max_tokens', max_tokens,
                            'temperature', temperature))::VARCHAR AS proxy_server_request
FROM contract ORDER BY n
"""

OPENAI = """
SELECT json_object(
    'request_id', request_id,
    'timestamp', strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'status_code', status,
    'organization', account_id,
    'api_key_id', api_key_id,
    'client_ip', source_ip,
    'user_agent', user_agent,
    'latency_ms', latency_ms,
    'request', json_object('model', model,
        'messages', json_array(json_object('role', 'user', 'content', prompt_text)),
        'max_tokens', max_tokens, 'temperature', temperature),
    'response', CASE WHEN status < 400 THEN json_object(
        'id', 'chatcmpl-' || request_id, 'object', 'chat.completion',
        'created', epoch(ts)::BIGINT, 'model', model,
        'choices', json_array(json_object('index', 0, 'finish_reason', finish_reason)),
        'usage', json_object(
            'prompt_tokens', input_tokens + cache_creation + cache_read,
            'completion_tokens', output_tokens,
            'total_tokens', input_tokens + cache_creation + cache_read + output_tokens,
            'prompt_tokens_details', json_object('cached_tokens', cache_read)))
        ELSE json_object('error', json_object('message', 'request refused',
                                              'code', status::VARCHAR)) END
) AS line
FROM contract ORDER BY n
"""

OTEL = """
WITH spans AS (
    SELECT n, json_object(
        'traceId', md5(request_id),
        'spanId', left(md5('span' || request_id), 16),
        'name', 'chat ' || model,
        'kind', 3,
        'startTimeUnixNano', (epoch_us(ts) * 1000)::VARCHAR,
        'endTimeUnixNano', ((epoch_us(ts) + latency_ms * 1000) * 1000)::VARCHAR,
        'status', json_object('code', CASE WHEN status < 400 THEN 1 ELSE 2 END),
        'attributes', list_filter([
            attr('gen_ai.operation.name', 'chat'),
            attr('gen_ai.request.model', model),
            attr('user.id', account_id),
            attr('client.address', source_ip),
            attr('user_agent.original', user_agent),
            int_attr('http.response.status_code', status),
            int_attr('gen_ai.usage.input_tokens', input_tokens + cache_creation + cache_read),
            int_attr('gen_ai.usage.output_tokens', output_tokens),
            int_attr('gen_ai.usage.cache_read.input_tokens', cache_read),
            int_attr('gen_ai.usage.cache_creation.input_tokens', cache_creation),
            int_attr('gen_ai.request.max_tokens', max_tokens),
            CASE WHEN temperature IS NOT NULL THEN json_object('key', 'gen_ai.request.temperature',
                'value', json_object('doubleValue', temperature)) END,
            CASE WHEN stop_reason IS NOT NULL THEN json_object(
                'key', 'gen_ai.response.finish_reasons', 'value', json_object('arrayValue',
                json_object('values', json_array(json_object('stringValue', stop_reason))))) END,
            attr('gen_ai.input.messages', CASE WHEN prompt_text IS NOT NULL THEN json_array(
                json_object('role', 'user', 'parts', json_array(json_object(
                    'type', 'text', 'content', prompt_text))))::VARCHAR END)
        ], lambda a: a IS NOT NULL)) AS span
    FROM contract
)

SELECT json_object('resourceSpans', json_array(json_object(
    'resource', json_object('attributes', json_array(attr('service.name', 'llm-gateway'))),
    'scopeSpans', json_array(json_object(
        'scope', json_object('name', 'llm-gateway.genai'),
        'spans', to_json(list(span ORDER BY n))))))) AS line
FROM spans
GROUP BY (n - 1) // 200
ORDER BY (n - 1) // 200
"""
"""One ExportTraceServiceRequest a line, 200 spans each (an exporter's batch)."""

MACROS = """
CREATE MACRO attr(k, v) AS CASE WHEN v IS NOT NULL
    THEN json_object('key', k, 'value', json_object('stringValue', v)) END;
CREATE MACRO int_attr(k, v) AS CASE WHEN v IS NOT NULL
    THEN json_object('key', k, 'value', json_object('intValue', v::VARCHAR)) END;
"""


def main() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(MACROS)
    con.execute(CONTRACT, {"path": str(DAY_FILE)})
    targets = {"litellm": HERE / "litellm" / "LiteLLM_SpendLogs-2026-04-01.parquet",
               "openai": HERE / "openai" / "gateway-2026-04-01.jsonl.gz",
               "otel": HERE / "otel" / "traces-2026-04-01.jsonl.gz"}
    for target in targets.values():
        target.parent.mkdir(exist_ok=True)
    con.sql(LITELLM).write_parquet(str(targets["litellm"]), compression="zstd")
    for name, query in (("openai", OPENAI), ("otel", OTEL)):
        lines = [line for (line,) in con.sql(query).fetchall()]
        with gzip.GzipFile(targets[name], "wb", mtime=0) as sink:
            sink.write(("\n".join(lines) + "\n").encode("utf-8"))

if __name__ == "__main__":
    main()
