-- reports/keys: one row per flagged cluster and piece of linkage evidence (a shared key,
-- or a pair type), the rarest keys first within each type.
-- Input: cluster_key, _report_member.
SELECT k.* FROM cluster_key AS k
WHERE k.cluster_id IN (SELECT DISTINCT cluster_id FROM _report_member)
ORDER BY k.cluster_id, k.key_type, k.weight DESC NULLS LAST,
         k.cluster_account_count DESC, k.key_value
