-- reports/quarantine_reasons: one row per reason a row of the window's input files was
-- quarantined for, with the rows (a row of no known day counts too).
-- Input: quarantine. Parameters: $files (the input files of inputs.sql), $start, $end.
SELECT reason, count(*)::BIGINT AS row_count FROM quarantine
WHERE source_file IN (SELECT unnest($files::VARCHAR[]))
  AND (day IS NULL OR day BETWEEN $start AND $end)
GROUP BY reason ORDER BY reason
