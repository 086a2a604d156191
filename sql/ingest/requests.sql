-- requests: one row per kept API request of the UTC day $day, in the contract's columns
-- plus ip_prefix and the record's origin (source_file, source_line). Sorted by time so
-- that a re-run writes the same bytes. Input: staged, ingest_duplicates, requests_nullable.
-- requests_nullable holds one all-NULL row that the filter drops: it keeps every column
-- nullable in the Parquet schema. DuckDB marks a column REQUIRED when its statistics show
-- no NULL, so without it a day's schema would depend on its data and on whether staging
-- stayed in memory.
SELECT
    request_id, ts, account_id, api_key_id, source_ip, user_agent, model, status,
    input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
    max_tokens, temperature, stop_reason, latency_ms, system_hash, prompt_hash, prompt_text,
    ip_prefix, source_file, source_line
FROM staged
ANTI JOIN ingest_duplicates USING (file_index, source_line)
WHERE reason IS NULL AND day = $day
UNION ALL
SELECT * FROM requests_nullable WHERE request_id IS NOT NULL
ORDER BY ts, request_id, source_file, source_line
