"""The one registry of what the pipeline reads and writes, and of its vocabularies.

In: nothing (declarations only, standard library). Out: the log contract of DESIGN.md;
every table, view, day-partitioned Parquet table and SQL query the pipeline writes or
runs (``REGISTRY``: layer, grain, key, typed columns, meaning, what makes it); and every
enumeration (evidence families, verdicts, capabilities, tests, quarantine reasons,
linking evidence kinds). DDL, typed empty stand-ins, validation suites and the reports
read these declarations, and ``tests/unit/test_registry.py`` holds them to the SQL files and
to a real run's database, so the contract lives in one place and cannot drift.

``shape`` holds the vocabularies and what a declaration is, ``columns`` the columns more
than one layer declares, and one module per layer its objects (``ingest``, ``features``,
``linking``, ``statistics``, ``scoring``, ``publication``, ``investigation``). This module
assembles them in the order the stages make them; callers import from here.
"""

from __future__ import annotations

from pipeline.registry.features import (
    ACCOUNT_BAND_DAY,
    ACCOUNT_CAPABILITY_DAY,
    ACCOUNT_DAY,
    ACCOUNT_HOUR,
    ACCOUNT_KEY_DAY,
    ACCOUNT_MINUTE,
    ACCOUNT_PREFIX_DAY,
    ACCOUNT_PREFIX_HOUR,
    ACCOUNT_PROMPT_DAY,
    ACCOUNT_TEMPLATE_DAY,
    FAILOVER_DAY,
    FEATURE_TABLES,
    PREFIX_HANDOFF_DAY,
    PROMPT_PAIR_DAY,
)
from pipeline.registry.ingest import (
    ACCOUNT_COLUMNS,
    ACCOUNTS,
    INGEST_DAY_QUALITY,
    INGEST_DUPLICATES,
    INGEST_LEDGER,
    INGEST_RECORDS,
    QUARANTINE,
    READERS,
    REQUESTS,
    REQUESTS_COLUMNS,
)
from pipeline.registry.investigation import INVESTIGATION_QUERIES
from pipeline.registry.linking import (
    ACCOUNT_LINK,
    ACCOUNT_LINK_COUNT,
    ACCOUNT_LINK_EVIDENCE,
    ACCOUNT_LINK_KEY,
    ACCOUNT_LINK_NULL,
    ACCOUNT_LINK_PAIR,
    ACCOUNT_SHARED_KEY,
    CLUSTER_KEY,
    CLUSTER_LINEAGE,
    CLUSTER_SPLIT,
    CLUSTERS,
    CREATION_WAVE,
    LINK_KEY,
    LINK_THRESHOLD,
    PRIOR_CLUSTERS,
    WAVE_HOLDER,
)
from pipeline.registry.publication import (
    PUBLICATIONS,
    RUNS,
    VALIDATION_CLUSTER_MEMBERSHIP,
    VALIDATION_INGEST_RECONCILIATION,
    VALIDATION_RESULT,
    VERDICT_CHANGE,
)
from pipeline.registry.reports import REPORT_QUERIES
from pipeline.registry.scoring import (
    CASE_JOIN,
    CASE_TEST,
    CASE_TIE,
    CLUSTER_COHORT,
    CLUSTER_FINDING,
    VERDICT_HISTORY,
)
from pipeline.registry.shape import (
    CAPABILITIES,
    DEFAULT_LINK_TYPES,
    DUCKDB_TYPE,
    FAMILIES,
    LOG_FIELD_NAMES,
    LOG_FIELDS,
    REQUIRED_FIELDS,
    STATISTIC_TESTS,
    VERDICTS,
    Column,
    Kind,
    Layer,
    LinkType,
    LogField,
    ObjectKind,
    QuarantineReason,
    Table,
)
from pipeline.registry.statistics import (
    BASELINE_GROUP,
    BASELINE_GROUP_PROFILE,
    CLUSTER_CACHE_COLLISION,
    CLUSTER_CACHE_DAY,
    CLUSTER_CAPABILITY,
    CLUSTER_PROFILE,
    CLUSTER_STATISTIC,
)

WINDOW_TABLES: tuple[Table, ...] = (CLUSTER_STATISTIC, CLUSTER_FINDING, CASE_JOIN)
"""The window tables the validation gate checks value by value (key never NULL, doubles
finite)."""

TABLES: dict[str, Table] = {t.name: t for t in (*FEATURE_TABLES, *WINDOW_TABLES)}
"""The per-day and window tables by name: what the validation suites are generated from,
and the tables whose registered grain the reports' data appendix prints."""

REGISTRY: dict[str, Table] = {t.name: t for t in (
    REQUESTS, ACCOUNTS, INGEST_LEDGER, QUARANTINE, *READERS, INGEST_RECORDS,
    INGEST_DUPLICATES, INGEST_DAY_QUALITY,
    *FEATURE_TABLES,
    CREATION_WAVE, ACCOUNT_LINK_KEY, LINK_KEY, ACCOUNT_LINK_NULL, ACCOUNT_SHARED_KEY,
    ACCOUNT_LINK_COUNT, ACCOUNT_LINK_EVIDENCE, ACCOUNT_LINK_PAIR,
    LINK_THRESHOLD, WAVE_HOLDER, ACCOUNT_LINK, CLUSTER_SPLIT, PRIOR_CLUSTERS, CLUSTERS,
    CLUSTER_KEY, CLUSTER_LINEAGE,
    CLUSTER_PROFILE, CLUSTER_CAPABILITY, CLUSTER_CACHE_DAY, CLUSTER_CACHE_COLLISION,
    BASELINE_GROUP, BASELINE_GROUP_PROFILE, CLUSTER_STATISTIC,
    CLUSTER_FINDING, CASE_JOIN, CASE_TEST, CASE_TIE, CLUSTER_COHORT, VERDICT_HISTORY,
    VALIDATION_RESULT, VALIDATION_CLUSTER_MEMBERSHIP, VALIDATION_INGEST_RECONCILIATION,
    VERDICT_CHANGE, PUBLICATIONS,
    RUNS,
    *INVESTIGATION_QUERIES,
)}
"""Every object the pipeline writes or runs, by name, in the order the stages make them."""

SQL_HELPERS: dict[str, str] = {
    "macros": "scalar macros every connection loads (warehouse.connect): field parsing, "
              "ip_prefix, prompt_text_hash, prompt_capability, verdict_level, ...; no rows",
}
"""SQL files that make no rows of their own, and what they hold."""

__all__ = [
    "ACCOUNTS", "ACCOUNT_BAND_DAY", "ACCOUNT_CAPABILITY_DAY", "ACCOUNT_COLUMNS", "ACCOUNT_DAY",
    "ACCOUNT_HOUR", "ACCOUNT_KEY_DAY", "ACCOUNT_LINK", "ACCOUNT_LINK_COUNT",
    "ACCOUNT_LINK_EVIDENCE",
    "ACCOUNT_LINK_KEY", "ACCOUNT_LINK_NULL", "ACCOUNT_LINK_PAIR", "ACCOUNT_MINUTE",
    "ACCOUNT_PREFIX_DAY", "ACCOUNT_PREFIX_HOUR", "ACCOUNT_PROMPT_DAY", "ACCOUNT_SHARED_KEY",
    "ACCOUNT_TEMPLATE_DAY", "BASELINE_GROUP", "BASELINE_GROUP_PROFILE",
    "CAPABILITIES", "CASE_JOIN", "CASE_TEST", "CASE_TIE", "CLUSTERS", "CLUSTER_CACHE_COLLISION",
    "CLUSTER_CACHE_DAY", "CLUSTER_CAPABILITY", "CLUSTER_COHORT", "CLUSTER_FINDING", "CLUSTER_KEY",
    "CLUSTER_LINEAGE", "CLUSTER_PROFILE", "CLUSTER_STATISTIC", "DEFAULT_LINK_TYPES",
    "DUCKDB_TYPE", "FAILOVER_DAY", "FAMILIES", "FEATURE_TABLES", "INGEST_DAY_QUALITY",
    "INGEST_DUPLICATES", "INGEST_LEDGER", "INGEST_RECORDS", "INVESTIGATION_QUERIES",
    "LINK_KEY", "LINK_THRESHOLD", "LOG_FIELDS", "LOG_FIELD_NAMES", "PREFIX_HANDOFF_DAY",
    "PRIOR_CLUSTERS", "PROMPT_PAIR_DAY", "PUBLICATIONS", "QUARANTINE", "READERS", "REGISTRY",
    "REPORT_QUERIES", "REQUESTS",
    "REQUESTS_COLUMNS", "REQUIRED_FIELDS", "RUNS", "SQL_HELPERS", "STATISTIC_TESTS", "TABLES",
    "VALIDATION_CLUSTER_MEMBERSHIP", "VALIDATION_INGEST_RECONCILIATION", "VALIDATION_RESULT",
    "VERDICTS", "VERDICT_CHANGE", "VERDICT_HISTORY", "WINDOW_TABLES", "Column", "Kind",
    "Layer", "LinkType", "LogField", "ObjectKind", "QuarantineReason", "Table",
]
