-- reports/flagged_member_none: no row, with the columns of flagged_member.sql: without
-- cluster_findings no cluster is flagged.
SELECT ''::VARCHAR AS cluster_id, ''::VARCHAR AS account_id WHERE false
