-- reports/account_attribute_none: no row, with the columns of account_attribute.sql:
-- without the accounts table, no account's attributes are known.
SELECT NULL::VARCHAR AS account_id, NULL::TIMESTAMPTZ AS created_at,
       NULL::VARCHAR AS country, NULL::BIGINT AS rpm_limit
WHERE false
