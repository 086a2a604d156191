-- raw_records (CSV rejects): one row per line the CSV reader could not split into the
-- header's columns or decode, from its temporary table csv_rejects.
SELECT
    line::BIGINT AS source_line,
    NULL::VARCHAR AS text,
    left(any_value(csv_line ORDER BY column_idx), 4096) AS raw,
    CASE WHEN bool_or(error_type = 'INVALID ENCODING') THEN 'undecodable bytes'
        ELSE 'malformed record' END AS pre_reason
FROM csv_rejects
GROUP BY line
