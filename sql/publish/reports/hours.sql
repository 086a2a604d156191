-- reports/hours: one row per flagged cluster and UTC hour of the day in which its accounts
-- sent a request in the window, with the requests of that hour over all days.
-- Input: _report_member, account_hour. Parameters: $start, $end.
SELECT m.cluster_id, hour(h.hour_at)::BIGINT AS hour,
       sum(h.request_count)::BIGINT AS request_count
FROM _report_member AS m JOIN account_hour AS h USING (account_id)
WHERE h.date BETWEEN $start AND $end
GROUP BY ALL ORDER BY m.cluster_id, hour
