-- reports/join: one row per flagged cluster of the reports that joined a case by the join
-- rule, with the test that decided it and each evidence family's surprise (the case, the
-- tie, for a cluster holding one family of its own the tie without infrastructure, and
-- its second family against their bars; families strongest first).
-- Input: case_test, _report_member.
SELECT
    cluster_id,
    tested_case,
    tie_surprise,
    required_surprise,
    tie_without_infrastructure,
    second_surprise,
    required_second,
    tie_families
FROM case_test
WHERE joined AND cluster_id IN (SELECT DISTINCT cluster_id FROM _report_member)
ORDER BY cluster_id
