-- raw_records (JSONL reader): one row per physical line of one JSONL block.
-- Input: raw_lines(source_line, text, line): the block's lines with their numbers as split
-- by the reader, line ends included. text is the line when the whole block was valid UTF-8
-- (checked at once by Arrow), else NULL and line holds the bytes, decoded here one by one;
-- a line that is not UTF-8 is shown with its bad bytes replaced. Blank lines are dropped by
-- ingest_records, after the JSON parse that tells them from records.
WITH decoded AS (
    SELECT source_line, coalesce(text, try(decode(line))) AS text, line
    FROM raw_lines
)

SELECT
    source_line,
    text,
    CASE WHEN text IS NULL THEN left(decode(line, 'replace'), 4096) END AS raw,
    NULL::VARCHAR AS pre_reason
FROM decoded
