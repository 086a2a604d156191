-- join_test: the join rule's test of one cluster (its strongest, in the round it joined
-- in or its last): one row, or none when the rule never tested it (it held no harvest
-- statistic, shared no key with a flagged case, or is flagged and the largest piece of
-- its case). short_by is how much -log10 p the tie (and, for a cluster holding one family
-- of its own, the tie without infrastructure), then its second family, lacked; a
-- merge test (a flagged piece against a larger flagged case) also has its consistency
-- and how far its z fell below the bar (NULL for a join test, and for a merge test
-- whose consistency is undefined: nothing shared inside or across, so kept apart).
-- Input: case_test. Parameters: $cluster_id.
SELECT
    cluster_id,
    tested_case,
    joined,
    coholders,
    tie_surprise,
    required_surprise,
    tie_without_infrastructure,
    second_surprise,
    required_second,
    tie_families,
    greatest(required_surprise - least(tie_surprise, tie_without_infrastructure), 0.0)
        AS tie_short_by,
    greatest(required_second - second_surprise, 0.0) AS second_short_by,
    cross_ratio,
    cross_z,
    required_z,
    CASE WHEN cross_z IS NOT NULL THEN greatest(required_z - cross_z, 0.0) END
        AS consistency_short_by,
    round
FROM case_test
WHERE cluster_id = $cluster_id
