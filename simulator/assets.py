"""Static material the simulator draws from: prompts, system prompts, user agents, IP space.

In: ``simulator/data/corpora/{benign,capability}.jsonl.gz`` (public prompts, see SOURCES.md) and
``simulator/data/templates/templates.json`` (our own templates). Out: an ``Assets`` bundle of
lookup tables (strings plus numpy arrays of categories and token counts) that the traffic
generators index with integer arrays, so rows carry small integers and strings are only
materialized at write time.

Texts are cleaned once here so that every whitespace character left is one of
``[ \\t\\n\\r\\f]``: then ``" ".join(text.split())`` in Python and
``trim(regexp_replace(text, '\\s+', ' ', 'g'))`` in DuckDB (RE2) agree on the normalized
prompt, and prompt hashes can be computed in bulk by DuckDB.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"

CATEGORIES: tuple[str, ...] = (
    "chat",
    "code",
    "math",
    "reasoning",
    "knowledge_qa",
    "writing",
    "multilingual",
    "tool_use",
    "roleplay",
    "extraction",
)
CAT = {name: i for i, name in enumerate(CATEGORIES)}
# What a distillation sweep covers: everything except casual chat, roughly evenly.
SWEEP_CATEGORIES = np.array([CAT[c] for c in CATEGORIES if c != "chat"], dtype=np.int8)

MODELS: tuple[str, ...] = (
    "claude-haiku-4-5",
    "claude-sonnet-4-5",
    "claude-opus-4-1",
    "claude-sonnet-5",
)
NEW_MODEL = 3
# ms per output token and base time to first token, per model.
MS_PER_TOKEN = np.array([7.0, 14.0, 28.0, 12.0])
TTFT_MS = np.array([350.0, 600.0, 1100.0, 550.0])

TOOL_TOKENS = 650

# (country, UTC offset in hours, weight among individuals)
COUNTRIES: tuple[tuple[str, float, float], ...] = (
    ("US", -6.0, 0.28),
    ("IN", 5.5, 0.08),
    ("GB", 0.0, 0.06),
    ("DE", 1.0, 0.06),
    ("BR", -3.0, 0.05),
    ("FR", 1.0, 0.04),
    ("JP", 9.0, 0.04),
    ("CA", -5.0, 0.04),
    ("KR", 9.0, 0.03),
    ("ES", 1.0, 0.03),
    ("AU", 10.0, 0.03),
    ("MX", -6.0, 0.03),
    ("NL", 1.0, 0.02),
    ("PL", 1.0, 0.02),
    ("ID", 7.0, 0.03),
    ("TR", 3.0, 0.02),
    ("SG", 8.0, 0.02),
    ("NG", 1.0, 0.02),
    ("IT", 1.0, 0.03),
    ("SE", 1.0, 0.02),
    ("VN", 7.0, 0.03),
    ("PH", 8.0, 0.02),
)
COUNTRY_CODES = np.array([c[0] for c in COUNTRIES])
COUNTRY_TZ_S = np.array([int(c[1] * 3600) for c in COUNTRIES], dtype=np.int64)
COUNTRY_W = np.array([c[2] for c in COUNTRIES]) / sum(c[2] for c in COUNTRIES)

# User agents. The first block is the common pool individuals draw from (weights below).
USER_AGENTS: tuple[str, ...] = (
    "anthropic-python/0.49.0",
    "anthropic-python/0.45.2",
    "anthropic-python/0.39.0",
    "anthropic-typescript/0.39.0",
    "anthropic-typescript/0.33.1",
    "curl/8.5.0",
    "curl/7.81.0",
    "python-requests/2.32.3",
    "python-requests/2.31.0",
    "python-httpx/0.27.2",
    "axios/1.7.7",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "langchain-anthropic/0.3.1 anthropic-python/0.45.2",
    "llama-index/0.12.5 anthropic-python/0.39.0",
    "Go-http-client/2.0",
    "okhttp/4.12.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "PostmanRuntime/7.42.0",
    # non-pool agents used by specific populations
    "agentic-sdk/1.4.0 anthropic-python/0.45.2 python/3.11",
    "lm-eval-harness/0.4.5 anthropic-python/0.39.0",
    "aiohttp/3.9.5 Python/3.11",
    "agentflow/2.3.1 anthropic-python/0.49.0 python/3.12",
)
UA_POOL_W = np.array(
    [14, 8, 5, 9, 4, 6, 3, 6, 3, 5, 4, 2, 5, 2, 3, 2, 6, 4, 2, 2], dtype=np.float64
)
UA_POOL_W /= UA_POOL_W.sum()
UA_DEFAULT_SDK = 20
UA_EVAL = 21
UA_AIOHTTP = 22
UA_AGENT_FRAMEWORK = 23

WEBMAIL = ("gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com", "hotmail.com")
WEBMAIL_W = np.array([0.45, 0.15, 0.07, 0.05, 0.07, 0.04])  # rest: personal domains


@dataclass(frozen=True)
class PromptBank:
    """All user-turn building blocks; index 0 of every part table is the empty string."""

    texts: list[str]
    category: np.ndarray  # int8 per text
    tokens: np.ndarray  # int32 per text
    by_category: tuple[np.ndarray, ...]  # text indices per category
    bench: dict[str, np.ndarray]  # researcher benchmarks: gsm8k, bbh, humaneval
    openers: list[str]
    wrap_pre: list[str]
    wrap_post: list[str]
    wrap_tokens: np.ndarray
    open_tokens: np.ndarray
    campaign_wraps: np.ndarray
    stealth_wraps: np.ndarray
    researcher_wraps: np.ndarray
    nonce_pre: list[str]
    nonce_post: list[str]


@dataclass(frozen=True)
class Assets:
    """Prompt bank plus the system prompt table (index 0: no system prompt)."""

    prompts: PromptBank
    system_texts: list[str]
    system_hash: list[str | None]
    system_tokens: np.ndarray
    system_kind: list[str]


# Characters Python's str.split() treats as whitespace but RE2's \\s does not.
_EXOTIC_SPACE = re.compile("[\v\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def clean_text(text: str) -> str:
    """Strip and map exotic whitespace (NBSP, ideographic space, ...) to a plain space."""
    return _EXOTIC_SPACE.sub(" ", text).strip()


def estimate_tokens(text: str) -> int:
    """About four UTF-8 bytes a token (CJK comes out near one token a character)."""
    return max(1, round(len(text.encode("utf-8")) / 4))


def _unescape(s: str) -> str:
    return s.replace("{{", "{").replace("}}", "}")


def _fill(template: str, **slots: str) -> str:
    """Unescape ``{{``/``}}`` first, so braces inside slot values (JSON) stay intact."""
    template = _unescape(template)
    for key, value in slots.items():
        template = template.replace("{" + key + "}", value)
    return template


def _read_corpus(name: str) -> list[dict[str, str]]:
    with gzip.open(DATA_DIR / "corpora" / name, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


_WRITING_T0 = (
    "cnn_dailymail",
    "xsum",
    "samsum",
    "gigaword",
    "common_gen",
    "generate_story",
    "build_story",
    "write",
    "generate_review",
)


def _capability_category(source: str) -> int:
    if "grade-school-math" in source:
        return CAT["math"]
    if "human-eval" in source:
        return CAT["code"]
    if "/bbh/" in source:
        return CAT["reasoning"]
    if "seed_tasks" in source:
        return CAT["writing"]
    if any(key in source for key in _WRITING_T0):
        return CAT["writing"]
    return CAT["knowledge_qa"]


def _own_tasks(tpl: dict) -> list[tuple[str, int]]:
    """Expand our templates into concrete tasks (a few hundred, deterministic order)."""
    out: list[tuple[str, int]] = []
    tu = tpl["tool_use"]
    tools = tu["tools"]
    cities, dates = tu["cities"], tu["dates"]
    for i, ask in enumerate(tu["asks"]):
        for j, req in enumerate(tu["requests"]):
            for k in range(4):
                chosen = [tools[(i + j + k + m) % len(tools)][1] for m in range(1 + k % 3)]
                text = _fill(
                    req,
                    tools="\n".join(chosen),
                    ask=_fill(
                        ask,
                        city=cities[(i + k) % len(cities)],
                        city2=cities[(i + k + 3) % len(cities)],
                        date=dates[(j + k) % len(dates)],
                    ),
                )
                out.append((text, CAT["tool_use"]))
    tr = tpl["translation"]
    for i, instr in enumerate(tr["instructions"]):
        for lang in tr["languages"]:
            for text in tr["texts"][i::2]:
                out.append((_fill(instr, lang=lang, text=text), CAT["multilingual"]))
    out.extend((t, CAT["multilingual"]) for t in tpl["multilingual"])
    ex = tpl["extraction"]
    for instr in ex["instructions"]:
        for what, keys in ex["targets"]:
            for kind, doc in ex["documents"]:
                out.append(
                    (_fill(instr, what=what, keys=keys, doc_kind=kind, doc=doc), CAT["extraction"])
                )
    for instr in tpl["roleplay"]:
        for persona in tpl["personas"]:
            for role in tpl["user_roles"]:
                out.append((_fill(instr, persona=persona, user_role=role), CAT["roleplay"]))
    code = tpl["code"]
    for instr in code["instructions"]:
        for lang in code["languages"]:
            for spec in code["specs"]:
                out.append((_fill(instr, lang=lang, spec=spec), CAT["code"]))
    return out


def _split_wrapper(template: str) -> tuple[str, str]:
    pre, post = template.split("{task}")
    return _unescape(pre), _unescape(post)


def _build_prompts(tpl: dict) -> PromptBank:
    texts: list[str] = []
    cats: list[int] = []
    bench_lists: dict[str, list[int]] = {"gsm8k": [], "bbh": [], "humaneval": []}
    for row in _read_corpus("benign.jsonl.gz"):
        texts.append(clean_text(row["text"]))
        cats.append(CAT["chat"])
    for row in _read_corpus("capability.jsonl.gz"):
        src = row["source"]
        if "grade-school-math" in src:
            bench_lists["gsm8k"].append(len(texts))
        elif "/bbh/" in src:
            bench_lists["bbh"].append(len(texts))
        elif "human-eval" in src:
            bench_lists["humaneval"].append(len(texts))
        texts.append(clean_text(row["text"]))
        cats.append(_capability_category(src))
    for text, cat in _own_tasks(tpl):
        texts.append(clean_text(text))
        cats.append(cat)
    category = np.array(cats, dtype=np.int8)
    tokens = np.array([estimate_tokens(t) for t in texts], dtype=np.int32)
    by_category = tuple(np.flatnonzero(category == c) for c in range(len(CATEGORIES)))

    wraps = [("", "")]
    groups: dict[str, list[int]] = {}
    for key in ("campaign_wrappers", "stealth_wrappers", "researcher_wrappers"):
        groups[key] = []
        for template in tpl[key]:
            groups[key].append(len(wraps))
            wraps.append(_split_wrapper(template))
    openers = ["", *tpl["stealth_openers"]]
    nonces = [("", ""), *(tuple(p) for p in tpl["nonce_formats"])]
    return PromptBank(
        texts=texts,
        category=category,
        tokens=tokens,
        by_category=by_category,
        bench={k: np.array(v, dtype=np.int64) for k, v in bench_lists.items()},
        openers=openers,
        wrap_pre=[w[0] for w in wraps],
        wrap_post=[w[1] for w in wraps],
        wrap_tokens=np.array([len((a + b).encode()) // 4 for a, b in wraps], dtype=np.int32),
        open_tokens=np.array([len(o.encode()) // 4 for o in openers], dtype=np.int32),
        campaign_wraps=np.array(groups["campaign_wrappers"]),
        stealth_wraps=np.array(groups["stealth_wrappers"]),
        researcher_wraps=np.array(groups["researcher_wrappers"]),
        nonce_pre=[n[0] for n in nonces],
        nonce_post=[n[1] for n in nonces],
    )


def long_system_prompt(tpl: dict, org: str, target_tokens: int, variant: int) -> str:
    """A policy-style system prompt of about ``target_tokens``, unique per (org, variant)."""
    paragraphs = [_fill(p, org=org) for p in tpl["system_paragraphs"]]
    parts = [f"# Assistant configuration for {org} (revision {variant})"]
    i = variant
    while estimate_tokens("\n\n".join(parts)) < target_tokens:
        section = len(parts)
        parts.append(f"## Section {section}\n{paragraphs[i % len(paragraphs)]}")
        i += 1 + variant % 3
    return "\n\n".join(parts)


@lru_cache(maxsize=1)
def load_templates() -> dict:
    """Our own template data (simulator/data/templates/templates.json)."""
    with (DATA_DIR / "templates" / "templates.json").open(encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=1)
def load_prompt_bank() -> PromptBank:
    """Corpora plus expanded templates; cached because it does not depend on the scenario."""
    return _build_prompts(load_templates())


def sha256_hex(text: str) -> str:
    """sha256 of the UTF-8 bytes, lowercase hex (the log contract's hash form)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SystemPromptTable:
    """Collects system prompts while accounts are built; index 0 means none."""

    def __init__(self) -> None:
        self.texts: list[str] = [""]
        self.kinds: list[str] = ["none"]

    def add(self, text: str, kind: str) -> int:
        self.texts.append(text)
        self.kinds.append(kind)
        return len(self.texts) - 1

    def freeze(self, prompts: PromptBank) -> Assets:
        hashes: list[str | None] = [None, *(sha256_hex(t) for t in self.texts[1:])]
        tokens = np.array([0, *(estimate_tokens(t) for t in self.texts[1:])], dtype=np.int32)
        return Assets(prompts, self.texts, hashes, tokens, self.kinds)
