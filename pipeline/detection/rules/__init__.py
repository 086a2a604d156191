"""Detection rules as code: one module per rule, each with its must-fire and must-stay-quiet
cases (``tests/rules/test_rules.py`` runs them).

In: nothing. Out: ``RULES``, in the order the reports list them, and ``RULE_MODULES``.
"""

from importlib import import_module
from types import ModuleType

from pipeline.detection.rules.rule import Rule

ORDER = (
    "qd01_capability_coverage",
    "qd02_capability_divergence",
    "qd03_template_reuse",
    "qd04_prompt_novelty",
    "qd05_reasoning_elicitation",
    "qd06_max_tokens_saturation",
    "qd08_repeated_sampling",
    "cm01_cache_busting",
    "cm02_cross_account_prefix",
    "cm03_read_without_write",
    "ts01_night_activity",
    "ts02_pacing",
    "ts03_synchronized_start",
    "ts04_failover",
)
"""The rule modules, in the order the reports list their rules."""

RULE_MODULES: tuple[ModuleType, ...] = tuple(import_module(f"{__name__}.{name}") for name in ORDER)
"""Every rule's module: ``RULE``, ``FIRES`` and ``QUIET``."""

RULES: tuple[Rule, ...] = tuple(module.RULE for module in RULE_MODULES)
