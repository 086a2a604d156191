-- wave_holder: one row per account holding a creation wave's key (account_link_key) that
-- linking put in a cluster of two or more accounts (linked_labels: each account of the
-- window and its cluster before the wave test): whether its ties to that cluster are a
-- member's or a bystander's. A wave is a time, and anyone who signs up in those minutes
-- holds it; a bystander's ties fall on the cluster as an outsider's do.
--   partners: the accounts it shares any evidence with other than its creation time (the
--     kinds in $creation_kinds); inside: those of its cluster;
--   members_share, members_spread: the cluster's members' pooled share of ties inside and
--     the spread of the share between members beyond the binomial (moments);
--   outsiders_share, outsiders_spread: the same for the window's other accounts with
--     partners, their ties into the cluster (their shares are zero where not listed);
--   log10_ratio: log10 of the normal likelihood of its share, (inside + 1/2) /
--     (partners + 1), as an outsider's over as a member's, each with variance
--     p (1 - p) / partners + spread (p kept half a tie from 0 and 1);
--   bar: log10(holders tested) - log10($alpha), Bonferroni over the rows;
--   leaves: it has partners, members tie more inside than outsiders do, and log10_ratio
--     reaches the bar: linking drops its wave key (pipeline/linking/linking.py).
-- Sums of fractions add in account order: in parallel they added in any order, and
-- the last digits of the spreads and ratios moved from run to run.
-- Input: account_link_evidence, account_link_key, linked_labels. Parameters:
-- $creation_kinds, $alpha.
WITH pair AS (
    SELECT DISTINCT account_a, account_b
    FROM account_link_evidence
    WHERE NOT list_contains($creation_kinds, key_type)
),

tie AS (
    SELECT account_a AS account_id, account_b AS partner FROM pair
    UNION ALL
    SELECT account_b, account_a FROM pair
),

placed AS (
    SELECT account_id, label, count(*) OVER (PARTITION BY label) AS cluster_accounts
    FROM linked_labels
),

counted AS (
    SELECT t.account_id, p.label AS partner_label, count(*) AS ties
    FROM tie AS t
    JOIN placed AS p ON p.account_id = t.partner
    GROUP BY ALL
),

degree AS (
    SELECT account_id, sum(ties)::BIGINT AS partners FROM counted GROUP BY account_id
),

own AS (
    SELECT
        a.account_id,
        a.label,
        a.cluster_accounts,
        coalesce(d.partners, 0)::BIGINT AS partners,
        coalesce(c.ties, 0) AS inside
    FROM placed AS a
    LEFT JOIN degree AS d USING (account_id)
    LEFT JOIN counted AS c ON c.account_id = a.account_id AND c.partner_label = a.label
    WHERE a.cluster_accounts > 1
),

members AS (
    SELECT
        label,
        count(*) AS accounts,
        sum(partners) AS partners,
        sum(inside) AS inside,
        sum(1.0 / partners ORDER BY account_id) AS inverse_partners,
        sum(inside) / sum(partners) AS share,
        coalesce(var_samp(inside / partners ORDER BY account_id), 0.0) AS share_variance
    FROM own
    WHERE partners > 0
    GROUP BY label
),

outside AS (
    SELECT
        c.partner_label AS label,
        sum(c.ties / d.partners ORDER BY c.account_id) AS share_sum,
        sum((c.ties / d.partners) ^ 2 ORDER BY c.account_id) AS share_squares
    FROM counted AS c
    JOIN degree AS d USING (account_id)
    JOIN placed AS a USING (account_id)
    WHERE a.label <> c.partner_label
    GROUP BY c.partner_label
),

window_partners AS (
    SELECT count(*) AS accounts, sum(partners) AS partners,
        sum(1.0 / partners ORDER BY account_id) AS inverse
    FROM degree
),

nulls AS (
    SELECT
        m.label,
        m.share AS members_share,
        greatest(m.share_variance - m.share * (1 - m.share) * m.inverse_partners / m.accounts,
                 0.0) AS members_spread,
        (m.partners - m.inside) / nullif(w.partners - m.partners, 0) AS outsiders_share,
        w.accounts - m.accounts AS outsiders,
        coalesce(o.share_sum, 0.0) AS share_sum,
        coalesce(o.share_squares, 0.0) AS share_squares,
        (w.inverse - m.inverse_partners) AS outsiders_inverse
    FROM members AS m
    CROSS JOIN window_partners AS w
    LEFT JOIN outside AS o USING (label)
),

spread AS (
    SELECT
        label,
        members_share,
        members_spread,
        coalesce(outsiders_share, 0.0) AS outsiders_share,
        CASE WHEN outsiders > 1 THEN greatest(
            (share_squares - share_sum * share_sum / outsiders) / (outsiders - 1)
            - coalesce(outsiders_share, 0.0) * (1 - coalesce(outsiders_share, 0.0))
              * outsiders_inverse / outsiders,
            0.0) ELSE 0.0 END AS outsiders_spread
    FROM nulls
),

holder AS (
    SELECT DISTINCT account_id, key_value AS wave
    FROM account_link_key
    WHERE key_type = 'creation_wave'
),

tested AS (
    SELECT
        h.account_id,
        h.wave,
        o.cluster_accounts,
        o.partners,
        o.inside,
        s.members_share,
        s.members_spread,
        s.outsiders_share,
        s.outsiders_spread,
        (o.inside + 0.5) / (o.partners + 1) AS share,
        0.5 / (o.partners + 1) AS edge
    FROM holder AS h
    JOIN own AS o USING (account_id)
    LEFT JOIN spread AS s USING (label)
),

weighed AS (
    SELECT
        *,
        least(greatest(members_share, edge), 1 - edge) AS p1,
        least(greatest(outsiders_share, edge), 1 - edge) AS p0
    FROM tested
),

ratio AS (
    SELECT
        account_id,
        wave,
        cluster_accounts,
        partners,
        inside,
        members_share,
        members_spread,
        outsiders_share,
        outsiders_spread,
        CASE WHEN partners > 0 THEN
            0.5 * ((share - members_share) ^ 2 / (p1 * (1 - p1) / partners + members_spread)
                   + ln(p1 * (1 - p1) / partners + members_spread)
                   - (share - outsiders_share) ^ 2
                     / (p0 * (1 - p0) / partners + outsiders_spread)
                   - ln(p0 * (1 - p0) / partners + outsiders_spread)) / ln(10)
        END AS log10_ratio,
        log10(count(*) OVER ()) - log10($alpha) AS bar
    FROM weighed
)

SELECT
    *,
    coalesce(partners > 0 AND members_share > outsiders_share AND log10_ratio >= bar, false)
        AS leaves
FROM ratio
ORDER BY account_id
