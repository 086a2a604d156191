-- reports/excerpts: one row per flagged cluster and logged prompt, at most $n a cluster:
-- those the most of its accounts sent, then the most requests. The text is redacted when
-- printed, not here.
-- Input: requests, _report_member. Parameters: $start, $end, $n.
WITH p AS (
    SELECT m.cluster_id, r.prompt_hash, min(r.prompt_text) AS prompt_text,
           count(DISTINCT r.account_id)::BIGINT AS account_count,
           count(*)::BIGINT AS request_count
    FROM requests AS r JOIN _report_member AS m USING (account_id)
    WHERE r.prompt_text IS NOT NULL AND r.date BETWEEN $start AND $end
    GROUP BY ALL
)

SELECT * FROM p
QUALIFY row_number() OVER (PARTITION BY cluster_id
        ORDER BY account_count DESC, request_count DESC, prompt_hash) <= $n
ORDER BY cluster_id, account_count DESC, request_count DESC, prompt_hash
