-- ingest_ledger: one row per input file of a run: what was read and where every row went.
-- rows_read = rows_kept + rows_quarantined + rows_out_of_range, checked in `balanced`.
-- Input: staged, quarantine (this run's rows), input_files (file_index, source_file,
-- format, compression, size_bytes, sha256). Parameters: $run_id, $start, $end.
WITH counts AS (
    SELECT
        file_index,
        count(*) AS rows_read,
        count(*) FILTER (WHERE day IS NOT NULL AND day NOT BETWEEN $start AND $end)
            AS rows_out_of_range
    FROM staged
    GROUP BY file_index
),

bad AS (
    SELECT f.file_index, count(*) AS rows_quarantined
    FROM quarantine AS q
    JOIN input_files AS f USING (source_file)
    GROUP BY f.file_index
),

final AS (
    SELECT
        f.file_index,
        f.source_file,
        f.format,
        f.compression,
        f.size_bytes,
        f.sha256,
        coalesce(c.rows_read, 0) AS rows_read,
        coalesce(c.rows_read, 0) - coalesce(b.rows_quarantined, 0)
            - coalesce(c.rows_out_of_range, 0) AS rows_kept,
        coalesce(b.rows_quarantined, 0) AS rows_quarantined,
        coalesce(c.rows_out_of_range, 0) AS rows_out_of_range
    FROM input_files AS f
    LEFT JOIN counts AS c USING (file_index)
    LEFT JOIN bad AS b USING (file_index)
)

SELECT
    $run_id AS run_id,
    *,
    rows_read = rows_kept + rows_quarantined + rows_out_of_range AS balanced
FROM final
ORDER BY file_index
