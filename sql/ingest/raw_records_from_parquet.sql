-- raw_records (Parquet reader): one row per row of the Parquet file $path, rendered as a
-- JSON object of its typed values. source_line is the row's position, from 1.
SELECT
    file_row_number + 1 AS source_line,
    to_json(parquet_row) AS text,
    NULL::VARCHAR AS raw,
    NULL::VARCHAR AS pre_reason
FROM read_parquet($path, file_row_number = true) AS parquet_row
