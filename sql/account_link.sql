-- account_link: one row per pair of accounts (account_a < account_b) whose combined
-- evidence reaches $min_edge_weight: the edge of the account graph that clustering reads,
-- with its weight and the evidence families behind it. Each family adds at most its cap,
-- so correlated types (an exact and a near-duplicate prompt) count once and content or
-- infrastructure alone never links. Pairs below the threshold stay in
-- account_link_evidence for the investigator but do not link. Sums are DECIMAL so that
-- thread order cannot change a weight's last bits (and a report's bytes).
-- Input: account_link_evidence. Parameters: $min_edge_weight.
WITH families AS (
    SELECT
        account_a, account_b, family,
        least(sum(contribution::DECIMAL(38, 18))::DOUBLE, any_value(family_cap))
            AS family_weight
    FROM account_link_evidence
    GROUP BY account_a, account_b, family
)

SELECT
    account_a,
    account_b,
    sum(family_weight::DECIMAL(38, 18))::DOUBLE AS weight,
    list(family ORDER BY family_weight DESC, family) AS families
FROM families
GROUP BY account_a, account_b
HAVING sum(family_weight::DECIMAL(38, 18))::DOUBLE >= $min_edge_weight
ORDER BY account_a, account_b
