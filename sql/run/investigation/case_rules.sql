-- case_rules: one row per detection rule that holds for the case (cluster_statistic's
-- is_strong): the statistic, the case's value against the baseline of other clusters, the
-- effect size and the multiple-testing adjusted p-value, and the table it was read from.
-- Input: cluster_statistic. Parameters: $cluster_id.
SELECT
    rule_id,
    family,
    statistic,
    value,
    baseline_median,
    effect_size,
    p_adjusted,
    source_table
FROM cluster_statistic
WHERE cluster_id = $cluster_id AND is_strong
ORDER BY family, rule_id, statistic
