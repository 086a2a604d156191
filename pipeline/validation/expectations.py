"""The value rules of the validation suites, declared next to the registry they refine.

In: ``pipeline.registry`` (the log fields, the ``requests`` columns, every registered table).
Out: ``rules_for(name)``: the rules a table's values must satisfy, as plain records that
``pipeline.validation.gx`` turns into Great Expectations expectations. Names and types of
columns are never listed here: the suites take them from the registry, and every rule
below is checked at import against the registry's columns, so a renamed column breaks the
import instead of leaving a rule that checks nothing.

Rules come from two places. Conventions of the registry generate most of them, so a new
table or column is covered the day it is registered: a column ending in ``_share`` is in
[0, 1], one ending in ``_count`` is at least 0, every DOUBLE of a table the reports read is
finite (no NaN, no infinity), a table's key is unique, a window table's key is never NULL,
a log field that is required or has a default is never NULL. The rest is declared in
``DECLARED``, each rule with its reason: what the contract says a value must be.

A bound written as a string is a named parameter resolved per batch (``day_start``, the
run's ``min_baseline_clusters``), passed to GX as a suite parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.registry import (
    FAMILIES,
    FEATURE_TABLES,
    LOG_FIELDS,
    REGISTRY,
    REQUESTS_COLUMNS,
    STATISTIC_TESTS,
    TABLES,
    VALIDATION_CLUSTER_MEMBERSHIP,
    VERDICTS,
    WINDOW_TABLES,
    Table,
)

Check = Literal["not_null", "unique", "between", "in_set", "equal", "at_least"]
Bound = float | int | str | None


@dataclass(frozen=True)
class Rule:
    """One thing a column (or a pair or set of columns) must satisfy.

    ``between``: ``column`` in [``low``, ``high``] (``strict_high`` excludes the upper bound);
    NULLs pass, ``not_null`` is its own rule. ``equal``: ``column`` equals ``other`` in every
    row; ``at_least``: ``column`` >= ``other``. ``unique`` over ``columns`` (one or a
    compound key). ``when`` restricts a rule to rows where every (column, op, value) holds.
    """

    check: Check
    columns: tuple[str, ...]
    why: str
    low: Bound = None
    high: Bound = None
    strict_high: bool = False
    values: tuple[object, ...] = ()
    other: str | None = None
    when: tuple[tuple[str, Literal[">", "=="], float], ...] = ()

    @property
    def column(self) -> str:
        return self.columns[0]

    @property
    def parameters(self) -> tuple[str, ...]:
        """The named parameters the rule needs at validation time."""
        return tuple(b for b in (self.low, self.high) if isinstance(b, str))

    @property
    def needed(self) -> tuple[str, ...]:
        """Every column the rule reads, so only those are converted to pandas."""
        extra = tuple(c for c, _op, _v in self.when)
        return (*self.columns, *((self.other,) if self.other else ()), *extra)


def _between(column: str, low: Bound, high: Bound, why: str, **kw: object) -> Rule:
    return Rule("between", (column,), why, low=low, high=high, **kw)  # type: ignore[arg-type]


FINITE = 1.7976931348623157e308
"""The largest finite double: ``between(-FINITE, FINITE)`` fails NaN and both infinities
(NaN compares false with everything), while NULLs stay a separate question."""

REQUESTS = "requests"
CLUSTERS = "clusters"
MEMBERSHIP = "cluster_membership"
CLUSTER_ACCOUNT_COUNT = "cluster_account_count"
"""Derived by validation's join with ``clusters``: the accounts of the cluster a window row
names; NULL when ``clusters`` has no such cluster."""
MEMBER_COUNT = "member_count"
"""Derived: rows of ``clusters`` with the row's cluster_id."""
IN_WINDOW = "in_window"
"""Derived: the account has an ``account_day`` row inside the clusters' window."""

# Columns of ``clusters`` and of the membership frame validation builds from it and
# ``account_day`` (``sql/validation/validation_cluster_membership.sql``).
CLUSTERS_COLUMNS = tuple(c.name for c in REGISTRY[CLUSTERS].columns)
MEMBERSHIP_COLUMNS = tuple(c.name for c in VALIDATION_CLUSTER_MEMBERSHIP.columns)

DECLARED: dict[str, tuple[Rule, ...]] = {
    REQUESTS: (
        Rule("unique", ("request_id",), "request_id is unique per request (DESIGN.md)"),
        _between("ts", "day_start", "day_end",
                 "a partition holds the requests of its UTC day only", strict_high=True),
        _between("status", 100, 599, "an HTTP status code"),
        *(_between(name, 0, None, "token counts are never negative")
          for name in ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                       "cache_read_input_tokens")),
        _between("max_tokens", 1, None, "an output limit allows at least one token"),
        _between("temperature", 0, 2, "the API's sampling temperature range"),
        _between("latency_ms", 0, None, "a duration"),
        _between("cache_read_input_tokens", "min_cacheable_tokens", None,
                 "a cache read returns a cached prefix, which is at least the smallest "
                 "minimum cacheable length (DESIGN.md, caching mismatch)",
                 when=(("cache_read_input_tokens", ">", 0),)),
        _between("cache_creation_input_tokens", "min_cacheable_tokens", None,
                 "a cache write without a read caches the whole prefix, at least the "
                 "minimum cacheable length (a write after a read may extend it by less)",
                 when=(("cache_creation_input_tokens", ">", 0),
                       ("cache_read_input_tokens", "==", 0))),
    ),
    MEMBERSHIP: (
        Rule("unique", ("account_id",), "an account is in at most one cluster"),
        Rule("not_null", ("cluster_id",), "every account of the window is in a cluster"),
        Rule("in_set", (IN_WINDOW,), "a cluster holds only accounts seen in its window",
             values=(True,)),
        Rule("equal", ("cluster_size",), "cluster_size is the cluster's account count",
             other=MEMBER_COUNT),
        _between("cluster_size", 1, None, "a cluster has at least one account"),
    ),
    "cluster_statistic": (
        *(Rule("not_null", (c,), "every tested statistic has its p-values")
          for c in ("p_value", "p_adjusted")),
        *(_between(c, 0, 1, "a p-value is a probability") for c in ("p_value", "p_adjusted")),
        _between("baseline_count", "min_baseline_clusters", None,
                 "a baseline is a population of at least the configured size"),
        Rule("in_set", ("family",), "the behavioural evidence families 2 to 4",
             values=FAMILIES),
        Rule("in_set", ("test",), "the tests the statistics stage documents",
             values=STATISTIC_TESTS),
        Rule("not_null", (CLUSTER_ACCOUNT_COUNT,), "a statistic belongs to an existing cluster"),
        _between("accounts_above_baseline", 1, None, "a strong value above its baseline is "
                 "a mean of its accounts' values, so at least one of them is above it"),
    ),
    "cluster_findings": (
        Rule("in_set", ("verdict",), "the verdicts of the output contract",
             values=VERDICTS),
        Rule("not_null", ("verdict",), "every cluster has a verdict"),
        Rule("not_null", ("risk_score",), "every cluster has a score"),
        _between("risk_score", 0, 1, "risk_score is in [0, 1] (output contract)"),
        _between("n_accounts", 1, None, "a cluster has at least one account"),
        _between("n_requests", 0, None, "a count"),
        Rule("not_null", (CLUSTER_ACCOUNT_COUNT,), "a finding refers to an existing cluster"),
        Rule("equal", ("n_accounts",), "n_accounts is the cluster's size in clusters",
             other=CLUSTER_ACCOUNT_COUNT),
        Rule("at_least", ("last_seen",), "a cluster's last request is not before its first",
             other="first_seen"),
    ),
    "case_join": (
        Rule("not_null", (CLUSTER_ACCOUNT_COUNT,), "a joined account's cluster exists"),
        *(Rule("not_null", (c,), "a join names its case and the numbers that decided it")
          for c in ("joined_case", "tie_surprise", "required_surprise", "second_surprise",
                    "required_second")),
        Rule("at_least", ("tie_surprise",), "a cluster joins only past the join threshold",
             other="required_surprise"),
        Rule("at_least", ("second_surprise",), "its second family passes the join's "
             "Benjamini-Hochberg bar", other="required_second"),
        _between("coholders", 1, None, "a tie rests on at least one account of the case"),
        _between("round", 1, None, "a join happens in a round of the rule, from the first"),
    ),
}


def _generated(table: Table) -> tuple[Rule, ...]:
    """The rules the registry's conventions imply for one table."""
    rules: list[Rule] = []
    window = table in WINDOW_TABLES
    for c in table.columns:
        if c.name.endswith("_share") and c.kind == "DOUBLE":
            rules.append(_between(c.name, 0, 1, "a share is in [0, 1]"))
        elif c.name.endswith("_count") and c.kind in ("BIGINT", "INTEGER", "UBIGINT"):
            rules.append(_between(c.name, 0, None, "a count is never negative"))
        if c.kind == "DOUBLE" and (window or table.name == "account_day"):
            rules.append(_between(c.name, -FINITE, FINITE, "no NaN or infinity"))
    if window:
        rules.extend(Rule("not_null", (k,), "a key is never NULL") for k in table.key)
    rules.append(Rule("unique", table.key, "one row per key (the table's grain)"))
    return tuple(rules)


def _requests_generated() -> tuple[Rule, ...]:
    return tuple(Rule("not_null", (f.name,), "required by the log contract"
                      if f.required else "ingest fills the contract's default")
                 for f in LOG_FIELDS if f.required or f.default is not None)


def rules_for(name: str) -> tuple[Rule, ...]:
    """Every value rule of the table (or check frame) ``name``: generated, then declared."""
    if name == REQUESTS:
        return (*_requests_generated(), *DECLARED[REQUESTS])
    generated = _generated(TABLES[name]) if name in TABLES else ()
    return (*generated, *DECLARED.get(name, ()))


def columns_of(name: str) -> tuple[str, ...]:
    """The columns a frame named ``name`` has: the registry's, or a check frame's."""
    if name == REQUESTS:
        return tuple(n for n, _ in REQUESTS_COLUMNS)
    if name == MEMBERSHIP:
        return MEMBERSHIP_COLUMNS
    derived = (CLUSTER_ACCOUNT_COUNT,) if name in {t.name for t in WINDOW_TABLES} else ()
    return (*(c.name for c in TABLES[name].columns), *derived)


def _check_rules() -> None:
    """Every rule names columns its table has: a renamed column fails here, at import."""
    names = [REQUESTS, MEMBERSHIP, *(t.name for t in (*FEATURE_TABLES, *WINDOW_TABLES))]
    for name in names:
        known = set(columns_of(name))
        for rule in rules_for(name):
            missing = [c for c in rule.needed if c not in known]
            if missing:
                raise RuntimeError(f"expectation rule on {name} names unknown columns "
                                   f"{missing}: {rule}")


_check_rules()
