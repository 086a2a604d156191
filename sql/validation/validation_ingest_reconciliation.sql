-- validation_ingest_reconciliation: one row per input file of an ingest run, or per
-- source_file found in the run's day partitions: the rows the ledger says were kept
-- against the rows the partitions hold. The ledger counts per file, not per day, so the
-- check is per file over the run's whole range (every partition of the range is written
-- by that run). Input: ingest_ledger, range_requests (the run range's day partitions).
-- Parameters: $run_id.
WITH ledger AS (
    SELECT source_file, rows_kept
    FROM ingest_ledger
    WHERE run_id = $run_id
),

stored AS (
    SELECT source_file, count(*) AS partition_rows
    FROM range_requests
    GROUP BY source_file
),

final AS (
    SELECT
        coalesce(l.source_file, s.source_file) AS source_file,
        l.rows_kept AS ledger_rows_kept,
        coalesce(s.partition_rows, 0) AS partition_rows
    FROM ledger AS l
    FULL JOIN stored AS s USING (source_file)
)

SELECT * FROM final ORDER BY source_file
