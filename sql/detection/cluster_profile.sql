-- cluster_profile: one row per cluster of the window: the counts every statistic of the
-- scoring stage is a ratio of (numerators and denominators side by side, so an auditor can
-- re-derive each share), summed over the cluster's accounts and the window's days.
-- Input: clusters and the per-day tables of the window. Parameters: $start, $end,
-- $night_start_hour, $night_end_hour (local time), $pacing_low, $pacing_high,
-- $edge_margin_minutes (a day that starts this close to midnight did not start: it went on).
WITH members AS (
    SELECT cluster_id, account_id FROM clusters
),

days AS (
    SELECT m.cluster_id, d.*
    FROM account_day AS d JOIN members AS m USING (account_id)
    WHERE d.date BETWEEN $start AND $end
),

volume AS (
    SELECT
        cluster_id,
        sum(request_count)::BIGINT AS request_count,
        sum(ok_count)::BIGINT AS ok_count,
        sum(rate_limited_count)::BIGINT AS rate_limited_count,
        sum(input_tokens_sum)::BIGINT AS input_tokens_sum,
        sum(output_tokens_sum)::BIGINT AS output_tokens_sum,
        sum(total_input_tokens_sum)::BIGINT AS total_input_tokens_sum,
        round(sum((coalesce(max_tokens_saturated_share, 0) * ok_count)::DECIMAL(38, 9)))
            ::BIGINT
            AS saturated_count,
        count(DISTINCT date)::BIGINT AS active_day_count,
        count(*)::BIGINT AS account_day_count,
        min(first_request_at) AS first_seen,
        max(last_request_at) AS last_seen
    FROM days
    GROUP BY cluster_id
),

capability AS (
    SELECT
        m.cluster_id,
        sum(c.request_count) FILTER (WHERE c.capability <> 'unknown')::BIGINT
            AS text_request_count,
        sum(c.reasoning_elicited_count)::BIGINT AS reasoning_elicited_count,
        count(DISTINCT c.capability) FILTER (WHERE c.capability NOT IN ('unknown', 'other'))
            ::BIGINT AS capability_count
    FROM account_capability_day AS c JOIN members AS m USING (account_id)
    WHERE c.date BETWEEN $start AND $end
    GROUP BY m.cluster_id
),

templates AS (
    SELECT m.cluster_id, t.template_key, count(DISTINCT t.account_id) AS accounts,
        sum(t.request_count) AS requests
    FROM account_template_day AS t JOIN members AS m USING (account_id)
    WHERE t.date BETWEEN $start AND $end
    GROUP BY ALL
),

template_reuse AS (
    SELECT cluster_id,
        sum(requests)::BIGINT AS templated_request_count,
        coalesce(sum(requests) FILTER (WHERE accounts >= 2), 0)::BIGINT AS reused_template_count
    FROM templates
    GROUP BY cluster_id
),

prompts AS (
    SELECT m.cluster_id, p.prompt_hash, count(DISTINCT p.account_id) AS accounts,
        sum(p.temperature_positive_count) AS sampled
    FROM account_prompt_day AS p JOIN members AS m USING (account_id)
    WHERE p.date BETWEEN $start AND $end
    GROUP BY ALL
),

prompt_clusters AS (
    SELECT prompt_hash, count(DISTINCT cluster_id) AS clusters FROM prompts GROUP BY ALL
),

novelty AS (
    SELECT p.cluster_id,
        count(*)::BIGINT AS distinct_prompt_count,
        count(*) FILTER (WHERE pc.clusters = 1)::BIGINT AS novel_prompt_count,
        count(*) FILTER (WHERE p.accounts >= 2 AND p.sampled > 0 AND pc.clusters = 1)::BIGINT
            AS resampled_prompt_count
    FROM prompts AS p JOIN prompt_clusters AS pc USING (prompt_hash)
    GROUP BY p.cluster_id
),

bands AS (
    SELECT m.cluster_id, b.band_key, b.hour_at, count(DISTINCT b.account_id) AS accounts
    FROM account_band_day AS b JOIN members AS m USING (account_id)
    WHERE b.date BETWEEN $start AND $end
    GROUP BY ALL
),

band_reuse AS (
    SELECT cluster_id, count(*)::BIGINT AS band_hour_count,
        count(*) FILTER (WHERE accounts >= 2)::BIGINT AS shared_band_hour_count
    FROM bands GROUP BY cluster_id
),

prefixes AS (
    SELECT m.cluster_id, p.account_id, p.model, p.system_hash,
        sum(p.cacheable_count) AS cacheable, sum(p.predicted_hit_count) AS predicted,
        sum(p.observed_read_count) AS reads, sum(p.observed_write_count) AS writes,
        sum(p.busted_count) AS busted
    FROM account_prefix_day AS p JOIN members AS m USING (account_id)
    WHERE p.date BETWEEN $start AND $end
    GROUP BY ALL
),

caching AS (
    SELECT cluster_id,
        sum(cacheable)::BIGINT AS cacheable_count,
        sum(predicted)::BIGINT AS predicted_hit_count,
        sum(busted)::BIGINT AS busted_count,
        sum(reads)::BIGINT AS observed_read_count,
        coalesce(sum(reads) FILTER (WHERE writes = 0), 0)::BIGINT AS read_without_write_count
    FROM prefixes GROUP BY cluster_id
),

handoffs AS (
    SELECT ma.cluster_id, sum(h.handoff_count)::BIGINT AS handoff_count
    FROM prefix_handoff_day AS h
    JOIN members AS ma ON ma.account_id = h.account_id
    JOIN members AS mb ON mb.account_id = h.previous_account_id AND mb.cluster_id = ma.cluster_id
    WHERE h.date BETWEEN $start AND $end
    GROUP BY ma.cluster_id
),

failovers AS (
    SELECT ma.cluster_id, sum(f.event_count)::BIGINT AS failover_count
    FROM failover_day AS f
    JOIN members AS ma ON ma.account_id = f.account_id
    JOIN members AS mb ON mb.account_id = f.next_account_id AND mb.cluster_id = ma.cluster_id
    WHERE f.date BETWEEN $start AND $end
    GROUP BY ma.cluster_id
),

local_hours AS (
    SELECT m.cluster_id,
        sum(h.request_count)::BIGINT AS hourly_request_count,
        coalesce(sum(h.request_count) FILTER (WHERE
            (hour(h.hour_at) + 24 + country_utc_offset(a.country)) % 24
                BETWEEN $night_start_hour AND $night_end_hour - 1), 0)::BIGINT
            AS night_request_count
    FROM account_hour AS h
    JOIN members AS m USING (account_id)
    LEFT JOIN accounts AS a USING (account_id)
    WHERE h.date BETWEEN $start AND $end
    GROUP BY m.cluster_id
),

pacing AS (
    SELECT d.cluster_id,
        count(*)::BIGINT AS active_minute_count,
        count(*) FILTER (WHERE m.request_count >= $pacing_low * d.rpm_limit
            AND m.request_count <= $pacing_high * d.rpm_limit)::BIGINT AS paced_minute_count
    FROM account_minute AS m
    JOIN days AS d ON d.account_id = m.account_id AND d.date = m.date
    WHERE m.date BETWEEN $start AND $end AND d.rpm_limit IS NOT NULL
    GROUP BY d.cluster_id
),

starts AS (
    SELECT cluster_id, date, date_trunc('minute', first_request_at) AS start_minute,
        count(*) OVER (PARTITION BY cluster_id, date, date_trunc('minute', first_request_at))
            AS same_minute
    FROM days
    WHERE first_request_at >= date::TIMESTAMPTZ + to_minutes($edge_margin_minutes::INTEGER)
),

synchrony AS (
    SELECT cluster_id, count(*) FILTER (WHERE same_minute >= 2)::BIGINT AS synchronized_start_count
    FROM starts GROUP BY cluster_id
),

sizes AS (
    SELECT cluster_id, count(*)::BIGINT AS n_accounts, min(account_id) AS first_account
    FROM members GROUP BY cluster_id
),

final AS (
    SELECT
        s.cluster_id,
        s.n_accounts,
        s.first_account,
        coalesce(v.request_count, 0) AS request_count,
        coalesce(v.ok_count, 0) AS ok_count,
        coalesce(v.rate_limited_count, 0) AS rate_limited_count,
        coalesce(v.input_tokens_sum, 0) AS input_tokens_sum,
        coalesce(v.output_tokens_sum, 0) AS output_tokens_sum,
        coalesce(v.total_input_tokens_sum, 0) AS total_input_tokens_sum,
        coalesce(v.saturated_count, 0) AS saturated_count,
        coalesce(v.active_day_count, 0) AS active_day_count,
        coalesce(v.account_day_count, 0) AS account_day_count,
        v.first_seen,
        v.last_seen,
        coalesce(c.text_request_count, 0) AS text_request_count,
        coalesce(c.reasoning_elicited_count, 0) AS reasoning_elicited_count,
        coalesce(c.capability_count, 0) AS capability_count,
        coalesce(t.templated_request_count, 0) AS templated_request_count,
        coalesce(t.reused_template_count, 0) AS reused_template_count,
        coalesce(n.distinct_prompt_count, 0) AS distinct_prompt_count,
        coalesce(n.novel_prompt_count, 0) AS novel_prompt_count,
        coalesce(n.resampled_prompt_count, 0) AS resampled_prompt_count,
        coalesce(b.band_hour_count, 0) AS band_hour_count,
        coalesce(b.shared_band_hour_count, 0) AS shared_band_hour_count,
        coalesce(k.cacheable_count, 0) AS cacheable_count,
        coalesce(k.predicted_hit_count, 0) AS predicted_hit_count,
        coalesce(k.busted_count, 0) AS busted_count,
        coalesce(k.observed_read_count, 0) AS observed_read_count,
        coalesce(k.read_without_write_count, 0) AS read_without_write_count,
        coalesce(h.handoff_count, 0) AS handoff_count,
        coalesce(f.failover_count, 0) AS failover_count,
        coalesce(l.hourly_request_count, 0) AS hourly_request_count,
        coalesce(l.night_request_count, 0) AS night_request_count,
        coalesce(p.active_minute_count, 0) AS active_minute_count,
        coalesce(p.paced_minute_count, 0) AS paced_minute_count,
        coalesce(y.synchronized_start_count, 0) AS synchronized_start_count
    FROM sizes AS s
    LEFT JOIN volume AS v USING (cluster_id)
    LEFT JOIN capability AS c USING (cluster_id)
    LEFT JOIN template_reuse AS t USING (cluster_id)
    LEFT JOIN novelty AS n USING (cluster_id)
    LEFT JOIN band_reuse AS b USING (cluster_id)
    LEFT JOIN caching AS k USING (cluster_id)
    LEFT JOIN handoffs AS h USING (cluster_id)
    LEFT JOIN failovers AS f USING (cluster_id)
    LEFT JOIN local_hours AS l USING (cluster_id)
    LEFT JOIN pacing AS p USING (cluster_id)
    LEFT JOIN synchrony AS y USING (cluster_id)
)

SELECT * FROM final ORDER BY cluster_id
