-- ingest_day_quality: one row per day of the range: kept and quarantined rows and the bad
-- share that the run's ceiling is checked against. A quarantined row whose day could not be
-- read counts against every day its file feeds, and a file none of whose rows has a day
-- (re-encoded as UTF-16, say) feeds every day of the range, so an unreadable file can only
-- make the check stricter, never hide. Input: staged, ingest_duplicates, quarantine.
-- Parameters: $start, $end.
WITH days AS (
    SELECT unnest(generate_series($start::DATE, $end::DATE, INTERVAL 1 DAY))::DATE AS day
),

kept AS (
    SELECT s.day, s.source_file, count(*) AS n
    FROM staged AS s
    ANTI JOIN ingest_duplicates AS d USING (file_index, source_line)
    WHERE s.reason IS NULL AND s.day BETWEEN $start AND $end
    GROUP BY ALL
),

bad_dated AS (
    SELECT day, source_file, count(*) AS n FROM quarantine WHERE day IS NOT NULL GROUP BY ALL
),

bad_undated AS (
    SELECT source_file, count(*) AS n FROM quarantine WHERE day IS NULL GROUP BY ALL
),

dated_feeds AS (
    SELECT DISTINCT day, source_file FROM kept
    UNION
    SELECT DISTINCT day, source_file FROM bad_dated
),

feeds AS (
    SELECT day, source_file FROM dated_feeds
    UNION
    SELECT d.day, u.source_file
    FROM days AS d
    CROSS JOIN (
        SELECT source_file FROM bad_undated
        ANTI JOIN (SELECT DISTINCT source_file FROM dated_feeds) USING (source_file)
    ) AS u
),

per_file AS (
    SELECT
        f.day,
        f.source_file,
        coalesce(k.n, 0) AS kept,
        coalesce(b.n, 0) + coalesce(u.n, 0) AS bad
    FROM feeds AS f
    LEFT JOIN kept AS k USING (day, source_file)
    LEFT JOIN bad_dated AS b USING (day, source_file)
    LEFT JOIN bad_undated AS u USING (source_file)
)

SELECT
    d.day,
    coalesce(sum(p.kept), 0)::BIGINT AS rows_kept,
    coalesce(sum(p.bad), 0)::BIGINT AS rows_bad,
    coalesce(sum(p.bad) / nullif(sum(p.kept) + sum(p.bad), 0), 0.0) AS bad_share,
    coalesce(
        list(p.source_file ORDER BY p.bad / nullif(p.kept + p.bad, 0) DESC, p.source_file)
            FILTER (WHERE p.bad > 0),
        []
    ) AS worst_files
FROM days AS d
LEFT JOIN per_file AS p USING (day)
GROUP BY d.day
ORDER BY d.day
