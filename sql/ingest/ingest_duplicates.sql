-- ingest_duplicates: one row per record of the run's date range that repeats a request_id
-- seen earlier in the run (earlier = an earlier file in path order, or an earlier line of
-- the same file). The first occurrence is kept; these go to the quarantine.
-- Input: staged (ingest_records of every file, with file_index). Parameters: $start, $end.
WITH in_range AS (
    SELECT file_index, source_file, source_line, request_id
    FROM staged
    WHERE reason IS NULL AND day BETWEEN $start AND $end
),

repeated AS (
    SELECT request_id FROM in_range GROUP BY request_id HAVING count(*) > 1
),

ranked AS (
    SELECT
        in_range.*,
        row_number() OVER (
            PARTITION BY in_range.request_id ORDER BY file_index, source_line
        ) AS occurrence
    FROM in_range SEMI JOIN repeated USING (request_id)
)

SELECT file_index, source_file, source_line, request_id, occurrence
FROM ranked
WHERE occurrence > 1
