-- join_test: the join rule's test of one cluster (its strongest, in the round it joined
-- in or its last): one row, or none when the rule never tested it (it held no harvest
-- statistic, shared no key with a flagged case, or is flagged and the largest piece of
-- its case). short_by is how much -log10 p the tie, then its second family, lacked.
-- Input: case_test. Parameters: $cluster_id.
SELECT
    cluster_id,
    tested_case,
    joined,
    coholders,
    tie_surprise,
    required_surprise,
    second_surprise,
    required_second,
    tie_families,
    greatest(required_surprise - tie_surprise, 0.0) AS tie_short_by,
    greatest(required_second - second_surprise, 0.0) AS second_short_by,
    round
FROM case_test
WHERE cluster_id = $cluster_id
