"""Plausible window tables for the report tests: stand-ins for the statistics and scoring
stages (cluster_findings, cluster_statistic) and for the optional per-cluster tables the
reports read (capability mix, cache replay, cache collisions, validation results)."""
from __future__ import annotations

import duckdb

from pipeline.validation.validation import RESULT_DDL

STATS = (
    ("query_distribution", "capability_coverage_entropy", "QD-01", "rank"),
    ("query_distribution", "template_reuse_share", "QD-02", "permutation"),
    ("query_distribution", "cot_elicitation_share", "QD-03", "binomial"),
    ("query_distribution", "max_tokens_saturation_share", "QD-04", "binomial"),
    ("caching_mismatch", "excess_cache_creation_ratio", "CM-01", "permutation"),
    ("caching_mismatch", "cross_account_continuation_share", "CM-02", "binomial"),
    ("traffic_shape", "rate_limit_pacing_share", "TS-01", "rank"),
    ("traffic_shape", "flat_24h_activity", "TS-02", "rank"),
    ("traffic_shape", "failover_429_count", "TS-03", "permutation"),
)


def plant_window_tables(db: duckdb.DuckDBPyConnection, *, flagged: int = 3,
                        optional: bool = True) -> list[str]:
    """Create cluster_findings and cluster_statistic (and, with ``optional``, the extra
    per-cluster tables the reports ask for) over the clusters table; the ``flagged``
    largest clusters are flagged. Returns the flagged cluster ids."""
    db.execute("""
        CREATE OR REPLACE TEMP TABLE _size AS
        SELECT c.cluster_id, count(*) AS n_accounts,
               row_number() OVER (ORDER BY count(*) DESC, c.cluster_id) AS rank
        FROM clusters c GROUP BY 1""")
    db.execute("""
        CREATE OR REPLACE TABLE cluster_findings AS
        SELECT s.cluster_id,
               CASE WHEN s.rank <= $f THEN 'flagged' WHEN s.rank <= $f + 2 THEN 'watch'
                    ELSE 'clear' END AS verdict,
               CASE WHEN s.rank <= $f THEN 0.9 - s.rank * 0.01
                    WHEN s.rank <= $f + 2 THEN 0.5 ELSE 0.05 END AS risk_score,
               s.n_accounts::BIGINT AS n_accounts,
               coalesce(sum(d.request_count), 0)::BIGINT AS n_requests,
               min(d.first_request_at) AS first_seen, max(d.last_request_at) AS last_seen,
               CASE WHEN s.rank <= $f THEN 'caching_mismatch,query_distribution,traffic_shape'
                    WHEN s.rank <= $f + 2 THEN 'traffic_shape' ELSE '' END AS strong_families,
               CASE WHEN s.rank <= $f THEN 'CM-01,QD-01,QD-02,TS-01'
                    WHEN s.rank <= $f + 2 THEN 'TS-01' ELSE '' END AS signals,
               false AS hashes_only
        FROM _size s JOIN clusters c USING (cluster_id)
        LEFT JOIN account_day d ON d.account_id = c.account_id
        GROUP BY s.cluster_id, s.n_accounts, s.rank
        ORDER BY s.cluster_id""", {"f": flagged})
    rows = ", ".join(f"('{fam}', '{st}', '{rule}', '{test}', {i})"
                     for i, (fam, st, rule, test) in enumerate(STATS))
    db.execute(f"""
        CREATE OR REPLACE TABLE cluster_statistic AS
        WITH s(family, statistic, rule_id, test, i) AS (VALUES {rows})
        SELECT z.cluster_id, s.family, s.statistic, s.rule_id,
               CASE WHEN z.rank <= $f THEN 3.0 + s.i ELSE 1.0 END AS value,
               1.0 AS baseline_median, 0.8 AS baseline_q1, 1.2 AS baseline_q3,
               40::BIGINT AS baseline_count,
               CASE WHEN z.rank <= $f THEN 4.5 + s.i * 0.1 ELSE 0.1 END AS effect_size,
               s.test,
               CASE WHEN z.rank <= $f THEN 1e-6 * (s.i + 1) ELSE 0.6 END AS p_value,
               CASE WHEN z.rank <= $f THEN 1e-4 * (s.i + 1) ELSE 0.9 END AS p_adjusted,
               z.rank <= $f AND s.i % 2 = 0 AS is_strong,
               'account_day' AS source_table
        FROM _size z, s WHERE z.n_accounts >= 2
        ORDER BY z.cluster_id, s.statistic""", {"f": flagged})
    if optional:
        db.execute("""
            CREATE OR REPLACE TABLE cluster_capability AS
            WITH caps(capability, weight) AS (VALUES ('code', 9), ('math', 2),
                 ('reasoning', 2), ('writing', 4), ('translation', 2), ('tool_use', 1))
            SELECT z.cluster_id, c.capability,
                   (CASE WHEN z.rank <= $f THEN 50 ELSE 10 * c.weight END)::BIGINT
                       AS request_count
            FROM _size z, caps c WHERE z.n_accounts >= 2""", {"f": flagged})
        db.execute("""
            CREATE OR REPLACE TABLE cluster_profile AS
            SELECT z.cluster_id, (100 * z.n_accounts)::BIGINT AS cacheable_count,
                   (60 * z.n_accounts)::BIGINT AS predicted_hit_count,
                   (CASE WHEN z.rank <= $f THEN 2 ELSE 55 END * z.n_accounts)::BIGINT
                       AS observed_read_count,
                   (CASE WHEN z.rank <= $f THEN 50 ELSE 3 END * z.n_accounts)::BIGINT
                       AS busted_count,
                   (CASE WHEN z.rank <= $f THEN 30 ELSE 0 END * z.n_accounts)::BIGINT
                       AS handoff_count,
                   z.n_accounts::BIGINT AS read_without_write_count
            FROM _size z WHERE z.n_accounts >= 2""", {"f": flagged})
        db.execute("""
            CREATE OR REPLACE TABLE cluster_cache_day AS
            SELECT m.cluster_id, d.date, sum(d.request_count)::BIGINT AS cacheable_count,
                   (sum(d.request_count) * 0.6)::BIGINT AS predicted_hit_count,
                   (sum(d.request_count) * 0.02)::BIGINT AS observed_read_count,
                   (sum(d.request_count) * 0.3)::BIGINT AS handoff_count
            FROM clusters m JOIN _size z USING (cluster_id)
            JOIN account_day d USING (account_id)
            WHERE z.rank <= $f GROUP BY ALL ORDER BY ALL""", {"f": flagged})
        db.execute("""
            CREATE OR REPLACE TABLE cluster_cache_collision AS
            SELECT z.cluster_id, 'sys_' || left(sha256(z.cluster_id || i::VARCHAR), 12)
                       AS prefix_hash,
                   least(z.n_accounts, 2 + i)::BIGINT AS account_count,
                   (50 + i)::BIGINT AS request_count, (10 + i)::BIGINT AS write_count,
                   1::BIGINT AS expected_write_count, (9 + i)::BIGINT AS handoff_count
            FROM _size z, range(5) t(i) WHERE z.rank <= $f""", {"f": flagged})
        db.execute("DROP TABLE IF EXISTS validation_result")
        db.execute(RESULT_DDL)
        db.execute("""
            INSERT INTO validation_result VALUES
            ('r', 'window', 'window.cluster_statistic', '2026-04-01..2026-04-03',
             'expect_column_values_to_be_between', 'p_value', true, 'all 0 <= p <= 1', 0,
             '{}', TIMESTAMPTZ '2026-04-04 00:00:00+00'),
            ('r', 'window', 'window.cluster_findings', '2026-04-01..2026-04-03',
             'expect_column_values_to_be_unique', 'cluster_id', true, 'unique', 0, '{}',
             TIMESTAMPTZ '2026-04-04 00:00:00+00')""")
    db.execute("DROP TABLE _size")
    return [r[0] for r in db.execute(
        "SELECT cluster_id FROM cluster_findings WHERE verdict = 'flagged' ORDER BY 1"
    ).fetchall()]
