-- reports/validation: one row per validation check (gate, suite, table, expectation and
-- column), its latest outcome.
-- Input: validation_result.
SELECT suite, expectation || coalesce('(' || "column" || ')', '') AS check_name,
    batch AS table_name, success, observed_value AS observed
FROM validation_result
QUALIFY row_number() OVER (
    PARTITION BY gate, suite, batch, expectation, "column" ORDER BY validated_at DESC
) = 1
ORDER BY ALL
