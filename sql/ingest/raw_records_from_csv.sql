-- raw_records (CSV reader): one row per CSV record of the file $path, rendered as a JSON
-- object of its text values, plus one row per line the CSV reader rejected (kept in the
-- temporary table csv_rejects). source_line counts the header as line 1 and one line per
-- record; it is the physical line unless an earlier quoted field spans lines or an earlier
-- line was rejected. Comma-separated, double quotes, a header row, every value text; the
-- header's names come in as $columns (read by ingest.py), and nothing is sniffed, so one odd
-- file cannot change how values are read, and a broken line (a quote never closed, a line
-- over 16 MiB) is a rejected line, not a failed file.
SELECT
    (ordinality + 1)::BIGINT AS source_line,
    to_json(csv_record) AS text,
    NULL::VARCHAR AS raw,
    NULL::VARCHAR AS pre_reason
FROM (
    SELECT *
    FROM read_csv(
        $path, auto_detect = false, columns = $columns, header = true, delim = ',',
        quote = '"', escape = '"',
        store_rejects = true, rejects_table = 'csv_rejects',
        rejects_scan = 'csv_reject_scans', max_line_size = 16777216
    ) WITH ORDINALITY
) AS csv_record
