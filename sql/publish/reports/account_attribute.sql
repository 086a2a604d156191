-- reports/account_attribute: one row per account of the accounts table, with what the
-- account appendix prints of it. The report queries read these rows from the temporary
-- table _report_account.
-- Input: accounts.
SELECT account_id, created_at, country, rpm_limit FROM accounts
