-- reports/link_count: one row: the links between accounts of the window.
-- Input: account_link.
SELECT count(*) FROM account_link
