-- reports/tables: one row per table or view of the main database (temporary ones left
-- out): a section whose source table is not among them says so instead of failing.
SELECT table_name FROM duckdb_tables() WHERE NOT temporary
UNION
SELECT view_name FROM duckdb_views() WHERE NOT temporary AND NOT internal
