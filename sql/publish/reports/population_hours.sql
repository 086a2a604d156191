-- reports/population_hours: one row per UTC hour of the day, with every account's
-- requests of that hour over the window: what hours.sql is compared with.
-- Input: account_hour. Parameters: $start, $end.
SELECT hour(hour_at)::BIGINT AS hour, sum(request_count)::BIGINT AS request_count
FROM account_hour WHERE date BETWEEN $start AND $end
GROUP BY ALL ORDER BY hour
