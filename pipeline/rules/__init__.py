"""Detection rules as code: one module per rule, each with its must-fire and must-stay-quiet
cases (``tests/test_rules.py`` runs them).

In: nothing. Out: ``RULES``, in the order the reports list them, and ``RULE_MODULES``.
"""

from pipeline.rules import (
    cm01_cache_busting,
    cm02_cross_account_prefix,
    cm03_read_without_write,
    qd01_capability_coverage,
    qd02_capability_divergence,
    qd03_template_reuse,
    qd04_prompt_novelty,
    qd05_reasoning_elicitation,
    qd06_max_tokens_saturation,
    qd08_repeated_sampling,
    ts01_night_activity,
    ts02_pacing,
    ts03_synchronized_start,
    ts04_failover,
)
from pipeline.rules.rule import Rule

RULE_MODULES = (
    qd01_capability_coverage,
    qd02_capability_divergence,
    qd03_template_reuse,
    qd04_prompt_novelty,
    qd05_reasoning_elicitation,
    qd06_max_tokens_saturation,
    qd08_repeated_sampling,
    cm01_cache_busting,
    cm02_cross_account_prefix,
    cm03_read_without_write,
    ts01_night_activity,
    ts02_pacing,
    ts03_synchronized_start,
    ts04_failover,
)
"""Every rule's module: ``RULE``, ``FIRES`` and ``QUIET``."""

RULES: tuple[Rule, ...] = tuple(module.RULE for module in RULE_MODULES)
