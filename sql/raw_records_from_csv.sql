-- raw_records (CSV reader): one row per CSV record of the file $path, rendered as a JSON
-- object of its text values, plus one row per line the CSV reader rejected (kept in the
-- temporary table csv_rejects). source_line counts the header as line 1 and one line per
-- record; it is the physical line unless an earlier quoted field spans lines or an earlier
-- line was rejected. Comma-separated, double quotes, a header row, every value text: only
-- the header is sniffed, so one odd file cannot change how values are read.
SELECT
    (ordinality + 1)::BIGINT AS source_line,
    to_json(csv_record) AS text,
    NULL::VARCHAR AS raw,
    NULL::VARCHAR AS pre_reason
FROM (
    SELECT *
    FROM read_csv(
        $path, all_varchar = true, header = true, delim = ',', quote = '"', escape = '"',
        store_rejects = true, rejects_table = 'csv_rejects',
        rejects_scan = 'csv_reject_scans', max_line_size = 16777216
    ) WITH ORDINALITY
) AS csv_record
