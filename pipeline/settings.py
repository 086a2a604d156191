"""Every setting of a run in one place: each stage's settings, their defaults and bounds.

In: values from the CLI's options, a DAG run's params or a recorded manifest. Out: frozen
settings models (``PipelineParams`` and a part per stage); a value out of bounds, of the
wrong type or under an unknown name raises ``ForensicsError`` naming the setting, with the
same message wherever it came from. Standard library and pydantic only, so the DAG files
(parsed often by Airflow) and ``forensics --help`` import it without the data stack.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import ForensicsError
from pipeline.registry import DEFAULT_LINK_TYPES, LinkType

LogFormat = Literal["contract", "auto", "litellm", "otel", "openai"]
"""The ``format`` choices: the contract, detection, and ``pipeline.ingest.adapters.ADAPTERS``."""
Share = Annotated[float, Field(ge=0, le=1)]
Probability = Annotated[float, Field(gt=0, lt=1)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]
AtLeastOne = Annotated[int, Field(ge=1)]
AtLeastTwo = Annotated[int, Field(ge=2)]

MEMORY_SHARE = 0.125
"""DuckDB's memory ceiling for a stage's connection (ingest, a day's tables, the window)
when its ``memory_limit`` is not given: this share of the machine's memory (an eighth:
3 GiB of 24), within ``MEMORY_BOUNDS``. Past it DuckDB spills to disk: without a ceiling
it takes 80% of the machine, never spills, and keeps the buffers a finished query freed
for the next one, so a day of the public case's volume held 9.6 GiB for its MinHash
bands and its window 6.2 GiB. An eighth leaves room for the frames a stage holds beside
its connection and for stages run in parallel processes. Constants rather than settings:
a run records every setting in its manifest, where a value taken from the machine would
make the same run's record differ between machines, and how much memory a stage may use
changes none of its bytes."""
MEMORY_BOUNDS = (1 << 30, 4 << 30)
"""Least and most bytes ``MEMORY_SHARE`` gives: below 1 GiB a stage's queries would
spill what fits anywhere; above 4 GiB a large machine keeps buffers it does not need."""
ENV_MEMORY_LIMIT = "FORENSICS_MEMORY_LIMIT"
"""A machine's own DuckDB ceiling for every stage (e.g. "2GiB" on a small one), where no
stage's ``memory_limit`` is given: how much memory a run may use is the machine's
business, changes none of its bytes, and so is not recorded with the run's settings."""


def memory_ceiling(memory_limit: str | None, machine_bytes: int | None = None) -> str:
    """DuckDB's memory ceiling for a stage on a machine of ``machine_bytes`` (default:
    this one, ``machine_memory_bytes``): the stage's ``memory_limit`` when given, else
    ``FORENSICS_MEMORY_LIMIT`` when set, else ``MEMORY_SHARE`` of the machine within
    ``MEMORY_BOUNDS``. The window stage takes the same: its largest query, linking's
    evidence, spills since the pairs' counts are a table of their own
    (``account_link_count``), and the ``seedday`` window (105,552 accounts, 4.9 M
    evidence rows) completes under ceilings of 1, 1.5, 2 and 3 GiB with the same
    findings; it had needed 3 GiB before."""
    if memory_limit or os.environ.get(ENV_MEMORY_LIMIT):
        return memory_limit or os.environ[ENV_MEMORY_LIMIT]
    low, high = MEMORY_BOUNDS
    wanted = int((machine_bytes or machine_memory_bytes()) * MEMORY_SHARE)
    return f"{min(max(wanted, low), high) >> 20}MiB"


def machine_memory_bytes() -> int:
    """The memory this process's machine has: physical memory, or the container's limit
    (cgroup v2 ``memory.max``) when that is lower, since a ceiling set from the physical
    memory inside a smaller container would be killed before it spills."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
    except OSError:
        return physical
    return min(physical, int(limit)) if limit.isdigit() else physical


_BOUNDS = {"greater_than_equal": "at least {ge:g}", "less_than_equal": "at most {le:g}",
           "greater_than": "more than {gt:g}", "less_than": "less than {lt:g}"}
_TYPES = {"int": "a whole number", "float": "a number", "bool": "true or false",
          "string": "text"}


def describe(error: ValidationError) -> str:
    """One line for the first problem: the setting's name, what it must be, what it got."""
    first = error.errors()[0]
    name = ".".join(str(p) for p in first["loc"])
    kind = first["type"]
    if kind == "extra_forbidden":
        return f"{name}: no such setting"
    if kind in _BOUNDS:
        need = _BOUNDS[kind].format(**first.get("ctx", {}))
    elif kind == "literal_error":
        need = "one of " + first["ctx"]["expected"].replace("'", "")
    else:
        need = next((v for k, v in _TYPES.items() if kind.startswith(k)), first["msg"])
    return f"{name}: must be {need} (got {first['input']!r})"


class Settings(BaseModel):
    """A stage's settings: frozen, unknown names refused, types strict (a "0.1" string or
    a true for a number of days is a mistake, not a value), each field's docstring its
    description (the DAG params show it)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True,
                              use_attribute_docstrings=True, arbitrary_types_allowed=True)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ForensicsError(describe(error)) from None


DEFAULT_SHARD_REQUESTS = 5_000_000
"""A DAG builds a day of more requests than this in shards of at most about this many
each, one task per shard (``FORENSICS_SHARD_REQUESTS`` sets it for a deployment). At the
30 s per million requests the per-day tables cost one worker of this machine (README,
*Scale on paper*), a shard takes 2 to 3 minutes: short enough to retry, long enough that
a task's start (seconds) stays small beside it. How a day is split never changes a byte of
what is written, so it is a deployment's setting and not a run's parameter."""


DEFAULT_STAGE_BYTES = 8 << 30
"""A DAG stages logs of more text than this (gzip and zstd counted as inflated three times,
``staging.INFLATION``) in parts of at most about this much each, one task per part, on any
worker (``FORENSICS_STAGE_BYTES`` sets it for a deployment; a single larger file is one
part). Staging cost about 12 s per million requests of a part on one worker of this
machine (``make bench``'s ``parts``), so a part of 8 GiB (about 6.9 M requests of
`seedday`'s kind) takes about a minute and a half: long enough that a task's start stays
small beside it, short enough to retry. Like the shards, the
parts never change a byte of what is written: a deployment's setting, not a run's."""


class IngestParams(Settings):
    """Ingest settings; the defaults are the nightly run's."""

    format: LogFormat = "contract"
    """What the logs are: contract (the input contract), litellm (LiteLLM's spend logs),
    otel (OTLP/JSON GenAI spans), openai (an OpenAI-style gateway's log) or auto (each
    file by its first record; a file that fits none or several stops the run)."""
    max_bad_share: Share = 0.01
    """A day whose quarantined share of rows passes this stops the run."""
    min_day_share: Share = 0.1
    """A day that kept fewer rows than this share of the median of the ``trailing_days``
    before it stops the run, and so does a day that kept none: a log-shipping outage
    would otherwise publish an empty case file over the last good one."""
    trailing_days: AtLeastOne = 7
    """Days before a day whose kept rows make its median (published partitions, and the
    earlier days of the same run)."""
    min_trailing_days: AtLeastOne = 3
    """Fewer days than this before a day make no median: one busy day before a quiet one
    (a campaign's burst on a range's first day) is no outage."""
    allow_empty: bool = False
    """Publish a day that kept no rows, or far fewer than the days before it (otherwise
    the run fails): a deliberate run."""
    block_bytes: AtLeastOne = 64 << 20
    """Decompressed bytes of JSONL handed to DuckDB at a time: bounds memory per file."""
    memory_limit: str | None = None
    """DuckDB's memory ceiling for staging and the day sorts (e.g. "6GB"); it spills to
    the staging folder beyond it. None: ``MEMORY_SHARE`` of the machine
    (``memory_ceiling``)."""
    parallel_files: AtLeastOne = 2
    """Files staged at once: enough to keep two cores busy; each holds two blocks."""
    staging_memory_bytes: Count = 2 << 30
    """Staged blocks kept as in-memory tables up to this many bytes of text (a week of the
    default scenario fits); a run that outgrows it stages everything as Parquet instead,
    so that the day sorts have the memory ceiling to themselves."""


class FeatureParams(Settings):
    """Settings of the per-day tables; the defaults are the nightly run's.

    The last two change only how DuckDB runs, never what is written.
    """

    failover_seconds: Positive = 10.0
    """A 429 followed by its prompt on another account within this many seconds is a
    failover (``failover_day``). Key-pool proxies retry within a second or two; 10 s leaves
    room for back-off while keeping unrelated senders of the same prompt rare."""
    pair_minutes: Positive = 10.0
    """Two accounts sending one prompt within this many minutes are a pair
    (``prompt_pair_day``): a harvesting sweep sends its prompts close together."""
    max_accounts_per_prompt: AtLeastTwo = 50
    """Prompts sent by more accounts than this in a day make no pairs: popular prompts link
    nobody, and n accounts would make n(n-1)/2 pairs."""
    band_bins: AtLeastOne = 16
    """MinHash bins per prompt (``account_band_day``): the signature's length."""
    band_rows: AtLeastOne = 4
    """Bins per band: two prompts with word-3-gram Jaccard similarity j share a given band
    with probability about j ** band_rows; 16 bins in bands of 4 catch j = 0.85 with
    probability 0.95 and j = 0.5 with 0.23."""
    band_min_words: AtLeastOne = 6
    """Prompts shorter than this many words get no bands: too few shingles to compare."""
    cache_ttl_seconds: AtLeastOne = 300
    """Prompt-cache entry lifetime, refreshed on every use (the provider's default 5 min)."""
    min_cacheable_tokens: Count = 1024
    """Shortest cacheable prefix (the provider's minimum is 1,024 to 4,096 by model; the
    smallest is the conservative choice: it predicts more hits, never fewer)."""
    concurrency_ms: Count = 1000
    """A request this soon after the previous one with its prefix misses: the first
    response has not started, so the entry is not written yet."""
    max_accounts_per_prefix: AtLeastTwo = 50
    """Prefixes more accounts than this use in a day make no handoffs (SDK defaults)."""
    threads: AtLeastOne | None = None
    """DuckDB threads; None uses every core. Lower it when days build in parallel."""
    memory_limit: str | None = None
    """DuckDB memory ceiling (e.g. "4GB"), beyond which a day's queries spill to a
    temporary folder in the output folder; None takes ``MEMORY_SHARE`` of the machine's
    memory (``memory_ceiling``)."""

    def sql_parameters(self, day: date) -> dict[str, object]:
        """The bound parameters the SQL files take, by name without the ``$``."""
        return {
            "day": day,
            "failover_seconds": self.failover_seconds,
            "pair_minutes": self.pair_minutes,
            "max_accounts_per_prompt": self.max_accounts_per_prompt,
            "bins": self.band_bins,
            "rows_per_band": self.band_rows,
            "min_words": self.band_min_words,
            "ttl_seconds": self.cache_ttl_seconds,
            "min_cacheable_tokens": self.min_cacheable_tokens,
            "concurrency_ms": self.concurrency_ms,
            "max_accounts_per_prefix": self.max_accounts_per_prefix,
        }


class LinkParams(Settings):
    """Linking settings; the defaults are the nightly run's (see the README's table)."""

    lookback_days: AtLeastOne = 30
    """Days of history the accounts are linked over (the compact tables the keys are
    gathered from), ending at the run's last day."""
    burst_minutes: AtLeastOne = 10
    """Accounts created in the same bucket of this many minutes share a creation key."""
    wave_context_days: AtLeastOne = 7
    """Days either side whose creations at the same time of day give a creation bucket's
    chance count (``creation_wave``): a week each way holds every weekday twice."""
    alpha: Probability = 0.01
    """Chance edges allowed per window: a pair is an edge when its combined p-value is
    below alpha / (pairs of accounts in the window)."""
    max_key_accounts: AtLeastTwo = 50
    """Keys more accounts than this hold are counted in each account's activity but make no
    pairs: they would make n(n - 1) / 2 rows, and under the null sharing one says little
    (at 200, window-wide bands made the 7-day default scenario's pairs outgrow 21 GiB).
    Payment cards are exempt (a star per card, n - 1 rows)."""
    dispersion: Positive = 1.0
    """Size of the negative binomial that a pair's shared counts follow under the null
    (``count_surprise``). Two heavy users of one public corpus, or two services drawing on
    the same documents, share several times what popularity alone predicts; a Poisson tail
    makes 600 shared bands against 180 expected a certainty. At size 1 (geometric) a large
    expectation needs a multiplicative excess, while one coincidence at mean 0.01 keeps
    p = 0.0099 and forty rare ones stay far past any bound."""
    member_dispersion: Positive = 1e9
    """Size of the negative binomial of the member test (``confirm_members``); this large,
    it is Poisson: a member's
    count is of a community's common keys, not of what two heavy users draw from one
    corpus, and a campaign member holds a few times more of them than chance, many times
    over."""
    member_second: Literal["bonferroni", "hochberg"] = "bonferroni"
    """The bar a member's second family must reach (``confirm_members``): Bonferroni over
    the window's accounts (the first family's bar), or Benjamini-Hochberg at ``alpha``
    over the window's member tests, which is Bonferroni's bar when one account shows a
    second family and falls when many do (the case-join rule's second family is tested
    so): a sparse campaign's accounts each share a little infrastructure with the rest,
    modest alone and shown by thousands."""
    sync_minutes: AtLeastOne = 2
    """Activity starts in the same bucket of this many minutes are one synchronized start."""
    idle_minutes: AtLeastOne = 30
    """A minute with requests after at least this much silence is an activity start."""
    min_pair_surprise: NonNegative = 1.0
    """Pairs at least this surprising (p <= 0.1 under the window's null) are edges of the
    graph Leiden reads, weighted by their surprise. Alone most are chance; a community is
    what they add up to, and each member is confirmed against it (``confirm_members``)."""
    resolution: Positive = 0.2
    """Leiden CPM resolution, in surprise (log10) per pair of a community's accounts: the
    evidence density a community must keep over all its pairs, linked or not. A campaign
    whose accounts each share a little with many others keeps it; chance pairs scattered
    over a population do not."""
    seed: int = 7
    """Leiden's random seed: the same inputs and seed give the same clusters."""
    leiden_passes: AtLeastOne | None = 5
    """Leiden's passes over the graph; None runs until no vertex moves. Each later pass
    moves fewer vertices: on the ``seedday`` window about 25 passes took 17 s (twice a
    run), five a few, and gave a partition within ARI 0.997 of the last. Five by default
    since 2026-12-05, by a rule written before its sweep: on sweep AF's 20 fresh seeds
    no seed's flagged F1 fell by more than 0.0033, the medians of flagged F1, cases' ARI
    and false-positive rate unchanged (README, *Linking*)."""
    split_test: bool = True
    """Test each cluster's groups for two operators and cut where their addresses say so
    (``pipeline.linking.split``, table ``cluster_split``): a creation wave can bind two
    campaigns whose proxies never meet."""
    link_types: tuple[LinkType, ...] = DEFAULT_LINK_TYPES
    edge_margin_minutes: Count = 5
    """A day's first minutes this close to midnight continue the night, not a start."""
    memory_limit: str | None = None
    """DuckDB memory ceiling (e.g. "4GB") of the window stage's connection (linking,
    statistics, scoring, validation, reports), beyond which it spills to a folder beside
    the database; None takes ``MEMORY_SHARE`` of the machine's memory
    (``memory_ceiling``)."""


class StatisticsParams(Settings):
    """Settings of the statistics stage; the defaults are the nightly run's."""

    min_cluster_accounts: AtLeastOne = 1
    """Clusters smaller than this are not tested. One: a single account's own behaviour
    (its capability mix, saturation, cache busting, hours, pacing) is compared with other
    single accounts, so an account that linking left alone is still judged (issue 12)."""
    min_together_accounts: AtLeastTwo = 2
    """Clusters smaller than this are not tested on the ``across_accounts`` rules, which
    count what two or more of a cluster's accounts do together."""
    baseline_clusters: AtLeastOne = 50
    """Clusters in a cluster's baseline: the nearest in size."""
    min_baseline_clusters: AtLeastOne = 20
    """A statistic whose baseline would be smaller than this is not tested."""
    alpha: Probability = 0.01
    """Benjamini-Hochberg false-discovery rate a strong statistic must pass."""
    rate_floor: Annotated[float, Field(gt=0, lt=0.5)] = 0.001
    """The smallest baseline rate a binomial test assumes (a baseline median of 0 would
    make any single event infinitely surprising)."""
    permutations: AtLeastOne = 999
    """Random account sets drawn for each permutation test."""
    seed: int = 7
    """Seed of the permutation draws."""
    night_start_hour: Annotated[int, Field(ge=0, le=23)] = 0
    night_end_hour: Annotated[int, Field(ge=0, le=24)] = 6
    pacing_low: Share = 0.5
    pacing_high: NonNegative = 1.0
    edge_margin_minutes: Count = 5
    """An account-day whose first request falls this close to midnight was already running:
    round-the-clock services all "start" at 00:00 and are not synchronized by that."""


class ScoringParams(Settings):
    """Verdict thresholds; the defaults are the nightly run's."""

    min_strong_per_family: AtLeastOne = 1
    """Strong statistics a family needs to hold."""
    min_families_flagged: AtLeastOne = 2
    """Families that must hold for ``flagged`` (DESIGN: at least two)."""
    min_accounts_flagged: AtLeastOne = 3
    """Clusters smaller than this are at most ``watch`` on their own behaviour. The case is
    one operator behind many accounts; a researcher's two accounts running a benchmark
    overnight, or an app and its staging key, behave oddly but are not that case, and one
    or two accounts leave the statistics resting on one account's habits. Such a cluster is
    ``flagged`` only by joining a flagged case. A larger cluster's harvest must be shown by
    this many of its own accounts too (``accounts_above_baseline``), or two accounts linked
    to bystanders (a small cloud /24 shared with other tenants) would pass for three."""
    small_watch_strong: AtLeastOne = 3
    """Strong statistics (in one family or several) a cluster under
    ``min_accounts_flagged`` accounts needs for ``watch``. A binomial test of one account's
    requests is optimistic (its requests are one person's habits, not independent draws),
    so each own-behaviour rule is strong for some 5-10% of ordinary single accounts: a
    night owl, a low max_tokens. Two such habits meet in about 1% of thousands of single
    accounts, the whole watch budget; three in well under 0.1%."""
    min_harvest_strong: Count = 1
    """Strong harvest statistics (``Rule.harvest``) every verdict but ``clear`` needs, and
    a cluster needs to join a case. Without one, a research lab's benchmark run
    (novel prompts, at its rate limit, overnight) or an enterprise's agents (shared
    wrappers, night hours, synchronized cron starts) hold two families by how they send;
    on randomized seeds that flagged labs on nearly every seed and merged cloud apps and
    enterprises on two."""
    flagged_harvest: Count = 2
    """Harvest evidence ``flagged`` needs besides two families: two strong harvest
    statistics, or one measured across accounts (``Rule.across_accounts``, counted twice:
    one prompt sampled on several accounts in the same hour is no one person's habit).
    Each single-account harvest statistic is also a habit of some people and labs (a
    benchmark run with chain-of-thought prompts elicits reasoning; a low max_tokens
    saturates), as with ``small_watch_strong``; one of them puts a cluster on ``watch``."""
    flagged_harvest_hashes_only: Count = 1
    """``flagged_harvest`` for a cluster whose requests carry no prompt text (hashes only).
    Without text the capability sweep and reasoning rules (QD-01, QD-02, QD-05) cannot be
    measured, so such a cluster has three harvest statistics to show instead of six, and
    asking for two of them left whole hashes-only campaigns, linked as one cluster with two
    families, on ``watch``. Pre-registered and judged on seeds not looked at (README,
    Accuracy over fresh randomized seeds)."""
    habit_ties_without_infrastructure: bool = True
    """Whether a cluster whose own strong statistics hold one family must also pass the
    join rule's tie with the infrastructure family left out (``tie_round``): one habit
    and the carrier's prefixes are what a mobile bystander of a campaign on mobile proxies
    has. Pre-registered and judged on seeds not looked at (README, Accuracy over fresh
    randomized seeds)."""
    join_rounds: AtLeastOne = 2
    """Rounds of the join rule: a fragment that joined a case in one round counts among the
    case's accounts in the next, so fragments of one campaign that share more with each
    other than with the linked part are tested against it too (as the member test of
    linking is repeated once its failures leave)."""
    merge_rounds: Count = 2
    """Rounds in which a flagged cluster is tested against the larger flagged cases, to
    make the pieces of one operator that Leiden cut apart one case (``case_merges``); 0
    merges nothing, and each flagged cluster is a case of its own. A piece must be tied to
    the case and also consistent with it (``pipeline.detection.consistency``: it shares
    with the case about as much as each shares inside itself), which two operators who
    harvest one corpus or rent one proxy pool are not. Off from 2026-12-04 (the tie alone
    joined different operators more often than it united one, sweeps AC and AD), on again
    since 2026-12-05 with the consistency test: on the 20 fresh seeds of sweep AF the
    cases' median ARI 0.481 -> 1.000, four seeds gained and none lost, by a rule written
    before the sweep (README, *Accuracy over fresh randomized seeds*)."""


class ReportParams(Settings):
    """Publication settings: what the reports may show, and whether invalid data may be
    published at all."""

    excerpts: Count = 0
    """Prompt excerpts per flagged cluster (redacted); 0 shows no prompt text at all."""
    allow_invalid: bool = False
    """Publish even when a validation suite failed, stamping every page (investigators
    only; the nightly run never sets it)."""
    producer: str = "distill-forensics"
    """The provider that publishes the indicators: the STIX bundle's ``identity`` and
    every object's ``created_by_ref``."""
    tlp: Literal["white", "green", "amber", "red"] = "amber"
    """Traffic Light Protocol marking of every shared object: amber by default, shared
    with the peers who need it to act."""
    indicators_per_kind: AtLeastOne = 50
    """Per flagged case and kind (prefix, user agent, system prompt, card, prompt), the
    keys most of its accounts hold that go into the STIX bundle."""
    validation_runs_kept: AtLeastOne = 10
    """Runs whose validation pages and results stay under ``validation/`` (about 0.5 MB a
    run on the sample); older ones are removed when a run publishes. Their outcomes stay
    in the ``validation_result`` table."""


class PipelineParams(Settings):
    """Every stage's parameters, from one place (the CLI's options and the DAGs' params)."""

    ingest: IngestParams = Field(default_factory=IngestParams)
    features: FeatureParams = Field(default_factory=FeatureParams)
    linking: LinkParams = Field(default_factory=LinkParams)
    statistics: StatisticsParams = Field(default_factory=StatisticsParams)
    scoring: ScoringParams = Field(default_factory=ScoringParams)
    reports: ReportParams = Field(default_factory=ReportParams)

    @classmethod
    def from_overrides(cls, values: Mapping[str, Any]) -> PipelineParams:
        """Defaults with the named settings replaced, in the flat form of the CLI's options
        and the DAGs' params (``max_bad_share``, ``lookback_days``, ...); a name several
        stages share (``memory_limit``) sets it in each. A name no stage has is refused: a
        misspelt override would otherwise run with the default."""
        for name in sorted(values):
            _field(name)
        return cls(**{part: kind(**{k: v for k, v in values.items() if k in kind.model_fields})
                      for part, kind in PARTS.items()})

    @classmethod
    def from_nested(cls, values: Mapping[str, Any]) -> PipelineParams:
        """Parameters from their recorded form (``model_dump`` as JSON, in the runs table
        and the manifest): the evidence kinds back to ``LinkType``, missing settings at
        their defaults, and a setting this version does not have refused, so that a
        verification never re-runs a recorded run with something else."""
        parts: dict[str, Any] = {}
        for part, kind in PARTS.items():
            given = dict(values.get(part) or {})
            if "link_types" in given:
                given["link_types"] = tuple(LinkType(**v) for v in given["link_types"])
            parts[part] = kind(**given)
        return cls(**parts)


PARTS: dict[str, type[Settings]] = {
    name: info.annotation for name, info in PipelineParams.model_fields.items()
}
"""Each stage's part of ``PipelineParams``, by its name there."""

RUN_OVERRIDES: tuple[str, ...] = ("allow_empty", "max_bad_share", "lookback_days", "format")
"""The settings a DAG run may override (the CLI's ``run`` options besides paths)."""

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}
_SCHEMA_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum",
                  "lt": "exclusiveMaximum"}


def default(name: str) -> Any:
    """A scalar setting's default, by its flat name (the first stage that has it)."""
    return _field(name).default


def param_spec(name: str) -> dict[str, Any]:
    """An Airflow ``Param``'s arguments for a setting: its default, JSON type, bounds and
    description, all from its declaration here, so the DAG form and the CLI refuse the
    same values."""
    info = _field(name)
    choices = get_args(info.annotation) if get_origin(info.annotation) is Literal else ()
    spec: dict[str, Any] = {"default": info.default,
                            "type": "string" if choices else _JSON_TYPES[info.annotation],
                            "description": info.description}
    if choices:
        spec["enum"] = list(choices)
    for constraint in info.metadata:
        for attribute, key in _SCHEMA_BOUNDS.items():
            if getattr(constraint, attribute, None) is not None:
                spec[key] = getattr(constraint, attribute)
    return spec


def _field(name: str) -> Any:
    for kind in PARTS.values():
        if name in kind.model_fields:
            return kind.model_fields[name]
    raise ForensicsError(f"{name}: no such setting")
