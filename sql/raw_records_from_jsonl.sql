-- raw_records (JSONL reader): one row per non-blank physical line of one JSONL chunk.
-- Input: raw_lines(source_line, line BLOB), the chunk's lines with their line numbers as
-- split by the reader (line ends included). Bytes that are not UTF-8 keep a readable copy
-- (invalid bytes replaced) for the quarantine.
WITH decoded AS (
    SELECT source_line, line, rtrim(try(decode(line)), chr(10) || chr(13)) AS text
    FROM raw_lines
)
SELECT
    source_line,
    text,
    CASE WHEN text IS NULL
        THEN left(rtrim(decode(line, 'replace'), chr(10) || chr(13)), 4096) END AS raw,
    NULL::VARCHAR AS pre_reason
FROM decoded
WHERE text IS NULL OR NOT regexp_full_match(text, '\s*')
