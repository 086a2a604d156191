-- account_link: one row per pair of accounts (account_a < account_b) that is an edge of the
-- account graph clustering reads: its surprise without the supporting client family
-- (account_link_pair.graph_surprise) is at least $min_pair_surprise, a p-value of
-- 10^-$min_pair_surprise or less under the window's null.
-- Most such pairs are chance on their own; what links is a community denser in them than
-- chance, each member confirmed against the rest (linking.confirm_members). weight is that
-- surprise; strong marks a pair that would link on its own (link_threshold.edge_surprise);
-- families lists the evidence families behind it.
-- Input: account_link_pair. Parameters: $min_pair_surprise.
SELECT
    account_a,
    account_b,
    graph_surprise AS weight,
    is_edge AS strong,
    families
FROM account_link_pair
WHERE graph_surprise >= $min_pair_surprise
ORDER BY account_a, account_b
