-- reports/inputs: one row per input file behind the window's partitions: for each day of
-- the window the latest ingest run that covered it, and that run's files (a file a later
-- run read again is shown as that run read it).
-- Input: ingest_ledger. Parameters: $start, $end.
WITH days AS (
    SELECT unnest(range($start::TIMESTAMP, $end::TIMESTAMP + INTERVAL 1 DAY,
                        INTERVAL 1 DAY))::DATE AS day
),

last_run AS (
    SELECT d.day, max(l.run_id) AS run_id
    FROM days AS d JOIN ingest_ledger AS l ON d.day BETWEEN l.range_start AND l.range_end
    GROUP BY d.day
)

SELECT source_file, sha256, size_bytes, rows_read, rows_kept, rows_quarantined,
       rows_out_of_range, balanced
FROM ingest_ledger
WHERE run_id IN (SELECT run_id FROM last_run)
QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY run_id DESC) = 1
ORDER BY source_file
