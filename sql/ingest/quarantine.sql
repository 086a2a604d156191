-- quarantine: one row per record of the run that was kept out, with the rule it broke.
-- Records whose day is known and outside the range belong to another run and are not here.
-- Input: staged, ingest_duplicates. Parameters: $run_id, $start, $end.
WITH rejected AS (
    SELECT
        source_file, source_line, day, reason, reason_fields, request_id, account_id,
        raw_text
    FROM staged
    WHERE reason IS NOT NULL AND (day IS NULL OR day BETWEEN $start AND $end)
),

repeated AS (
    SELECT
        s.source_file, s.source_line, s.day,
        'duplicate request_id' AS reason,
        'request_id' AS reason_fields,
        s.request_id, s.account_id,
        left(to_json(struct_pack(
            request_id := s.request_id, ts := s.ts, account_id := s.account_id,
            model := s.model, status := s.status, prompt_hash := s.prompt_hash
        )), 4096) AS raw_text
    FROM staged AS s
    JOIN ingest_duplicates AS d USING (file_index, source_line)
    WHERE s.reason IS NULL
)

SELECT $run_id AS run_id, *
FROM (SELECT * FROM rejected UNION ALL SELECT * FROM repeated)
ORDER BY source_file, source_line
