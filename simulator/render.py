"""Turn one day's request skeletons into canonical log rows and write them.

In: the populations' ``Rows`` of one day (integer arrays from ``traffic``), the account table,
the prompt bank and system prompt table, and the prompt-cache state carried over from the
previous day. Out: ``requests-YYYY-MM-DD.jsonl.gz`` in the log contract of DESIGN.md, byte
for byte deterministic, and the cache state to carry into the next day.

Token accounting follows the Anthropic Messages API: total input = input_tokens +
cache_creation_input_tokens + cache_read_input_tokens. The prompt cache is replayed at
account scope: the cacheable prefix is the system prompt (at least 1,024 tokens); a request
reads it iff the same account sent the same prefix (system prompt, model) within the previous
five minutes and the previous request's response had started (concurrent requests miss;
approximation: only the immediately preceding request of the key is compared); otherwise it
writes it. The TTL is refreshed on every use, so one sort and one shift decide every row.
Campaign requests carry a per-request nonce inside the cached block (in their tool
definitions, which the system hash does not cover): they write the prefix every time and
never read it, although their system_hash repeats across accounts.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipeline.registry import LOG_FIELD_NAMES
from simulator import assets as A
from simulator.accounts import AccountTable
from simulator.population import POP
from simulator.traffic import US_PER_S

MIN_CACHEABLE = 1024
TTL_US = 300 * US_PER_S
PROMPT_TEXT_MAX = 4000
SLICE_ROWS = 400_000
GZIP_LEVEL = 6
_STOP = pl.Series("stop", [None, "end_turn", "max_tokens", "tool_use"], dtype=pl.String)


@dataclass(frozen=True)
class CacheCarry:
    """Cache entries still alive at midnight: key, last use (µs), that request's TTFT (µs)."""

    key: np.ndarray
    ts: np.ndarray
    ttft: np.ndarray

    @staticmethod
    def empty() -> CacheCarry:
        z = np.zeros(0, np.int64)
        return CacheCarry(z, z, z)


class Renderer:
    """Holds the string lookup tables once per run; renders and writes day after day."""

    def __init__(self, acc: AccountTable, assets: A.Assets, seed: int, hashes_only: bool):
        bank = assets.prompts
        self.acc, self.assets, self.seed, self.hashes_only = acc, assets, seed, hashes_only
        self.texts = pl.Series(bank.texts, dtype=pl.String)
        self.openers = pl.Series(bank.openers, dtype=pl.String)
        self.wrap_pre = pl.Series(bank.wrap_pre, dtype=pl.String)
        self.wrap_post = pl.Series(bank.wrap_post, dtype=pl.String)
        self.nonce_pre = pl.Series(bank.nonce_pre, dtype=pl.String)
        self.nonce_post = pl.Series(bank.nonce_post, dtype=pl.String)
        self.account_ids = pl.Series(acc["account_id"], dtype=pl.String)
        self.key_prefix = pl.Series(acc["key_prefix"], dtype=pl.String)
        self.user_agents = pl.Series(A.USER_AGENTS, dtype=pl.String)
        self.models = pl.Series(A.MODELS, dtype=pl.String)
        self.sys_hash = pl.Series(assets.system_hash, dtype=pl.String)
        self.con = duckdb.connect()
        self.con.execute("SET enable_progress_bar = false")
        # benign populations that occasionally run into their own rate limits
        self._limited = np.array([POP[p] for p in ("individual", "enterprise", "app", "cloud_app")])

    def numbers(
        self,
        parts: list[dict[str, np.ndarray]],
        day_index: int,
        day_end_us: int,
        carry: CacheCarry,
    ) -> tuple[dict[str, np.ndarray], CacheCarry]:
        """Merge populations, sort by time, inject server errors, replay the cache, count
        tokens and latency. Returns numeric columns and the cache state at midnight."""
        keys = [k for k in parts[0] if all(k in p for p in parts)]
        r = {k: np.concatenate([p[k] for p in parts]) for k in keys}
        order = np.lexsort((r["acct"], r["ts"]))
        r = {k: v[order] for k, v in r.items()}
        n = len(r["ts"])
        rng = np.random.default_rng([self.seed, day_index, 4_242])
        bank, sys_tokens = self.assets.prompts, self.assets.system_tokens
        err = rng.random(n)
        busy = np.isin(self.acc["pop"][r["acct"]], self._limited)
        r["status"] = np.where(busy & (err > 0.4) & (err < 0.402), 429, r["status"])
        r["status"] = np.where((r["status"] == 200) & (err < 0.003), 529, r["status"])
        r["status"] = np.where((r["status"] == 200) & (err > 0.999), 500, r["status"])
        ok = r["status"] == 200
        sys_tok = sys_tokens[r["sys"]].astype(np.int64)
        user_tok = (
            bank.tokens[r["task"]]
            + bank.wrap_tokens[r["wrap"]]
            + bank.open_tokens[r["opener"]]
            + np.where(r["nonce"] > 0, 6, 0)
        )
        total_in = sys_tok + user_tok + r["hist"] + np.where(r["tool"], A.TOOL_TOKENS, 0)
        model = r["model"].astype(np.int64)
        ttft_ms = A.TTFT_MS[model] * (1 + total_in / 30_000) * rng.lognormal(0, 0.25, n)
        ttft_us = (ttft_ms * 1000).astype(np.int64)

        cacheable = ok & (r["sys"] > 0) & (sys_tok >= MIN_CACHEABLE)
        keyed = np.flatnonzero(cacheable & ~r["bust"])
        key = (r["acct"][keyed].astype(np.int64) << 20) | (r["sys"][keyed].astype(np.int64) << 3)
        key |= model[keyed]
        kk = np.concatenate([carry.key, key])
        tt = np.concatenate([carry.ts, r["ts"][keyed]])
        ff = np.concatenate([carry.ttft, ttft_us[keyed]])
        o = np.lexsort((tt, kk))
        ks, ts_s, fs = kk[o], tt[o], ff[o]
        gap = np.diff(ts_s)
        hit_sorted = np.zeros(len(o), bool)
        hit_sorted[1:] = (ks[1:] == ks[:-1]) & (gap <= TTL_US) & (gap >= fs[:-1])
        hit = np.empty(len(o), bool)
        hit[o] = hit_sorted
        read = np.zeros(n, bool)
        read[keyed] = hit[len(carry.key) :]
        creation = cacheable & ~read
        tail = r["ts"][keyed] >= day_end_us - TTL_US
        new_carry = CacheCarry(key[tail], r["ts"][keyed][tail], ttft_us[keyed][tail])

        out_tok = np.where(ok, np.minimum(r["demand"], r["max_tokens"]), 0)
        stop = np.where(
            out_tok == r["max_tokens"], 2, np.where(r["tool"] & (rng.random(n) < 0.6), 3, 1)
        )
        lat = ttft_ms + out_tok * A.MS_PER_TOKEN[model] * rng.lognormal(0, 0.15, n)
        lat = np.where(r["status"] == 429, rng.uniform(8, 60, n), lat)
        lat = np.where(r["status"] >= 500, rng.uniform(80, 4000, n), lat)
        cached = np.where(read | creation, sys_tok, 0)
        r.update(
            input_tokens=np.where(ok, total_in - cached, 0),
            output_tokens=out_tok,
            cache_creation_input_tokens=np.where(creation, sys_tok, 0),
            cache_read_input_tokens=np.where(read, sys_tok, 0),
            stop=np.where(ok, stop, 0),
            latency_ms=lat.astype(np.int64),
        )
        return r, new_carry

    def _slice_frame(
        self, r: dict[str, np.ndarray], lo: int, hi: int, date: dt.date
    ) -> pl.DataFrame:
        """Rows ``lo``..``hi`` of the day as log rows, in the contract's columns."""
        s = {k: pl.Series(v[lo:hi]) for k, v in r.items()}
        text, phash = self._prompts(s)
        ip4 = pl.Series(s["ip4"])
        v6 = pl.Series(s["ip6"])
        tag = date.strftime("%Y%m%d")
        df = pl.DataFrame(
            {
                "n": pl.Series(np.arange(lo, hi)),
                "ts_us": s["ts"],
                "acct": s["acct"],
                "key": s["key"],
                "ip4": ip4,
                "v6": v6,
            }
        ).select(
            request_id=pl.concat_str(
                [pl.lit(f"req_{tag}_{self.seed}_"), pl.col("n").cast(pl.String).str.zfill(8)]
            ),
            ts=pl.from_epoch("ts_us", time_unit="us").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
            api_key_id=pl.concat_str(
                [
                    self.key_prefix.gather(s["acct"]).alias("kp"),
                    pl.col("key").cast(pl.String),
                ]
            ),
            source_ip=pl.when(pl.col("v6") > 0)
            .then(
                pl.format(
                    "2a02:{}:{}:{}::{}",
                    (pl.col("v6") // 100_000_000 % 10_000).cast(pl.String),
                    (pl.col("v6") // 10_000 % 10_000).cast(pl.String),
                    (pl.col("v6") % 10_000).cast(pl.String),
                    (pl.col("ip4") % 256 + 1).cast(pl.String),
                )
            )
            .otherwise(
                pl.concat_str(
                    [(pl.col("ip4") // (1 << s_) % 256).cast(pl.String) for s_ in (24, 16, 8, 0)],
                    separator=".",
                )
            ),
        )
        return df.with_columns(
            account_id=self.account_ids.gather(s["acct"]),
            user_agent=self.user_agents.gather(s["ua"]),
            model=self.models.gather(s["model"]),
            status=s["status"].cast(pl.Int64),
            input_tokens=s["input_tokens"].cast(pl.Int64),
            output_tokens=s["output_tokens"].cast(pl.Int64),
            cache_creation_input_tokens=s["cache_creation_input_tokens"].cast(pl.Int64),
            cache_read_input_tokens=s["cache_read_input_tokens"].cast(pl.Int64),
            max_tokens=s["max_tokens"].cast(pl.Int64),
            temperature=s["temperature"].cast(pl.Float64).round(2).fill_nan(None),
            stop_reason=_STOP.gather(s["stop"]),
            latency_ms=s["latency_ms"].cast(pl.Int64),
            system_hash=self.sys_hash.gather(s["sys"]),
            prompt_hash=phash,
            prompt_text=text,
        )

    def _prompts(self, s: dict[str, pl.Series]) -> tuple[pl.Series, pl.Series]:
        """A slice's prompt texts, assembled from their parts and cut to the contract's
        length, and their hashes: the sha256 of the white-space-folded text, by DuckDB's
        own function, the one ingest uses to derive a hash a log lacks."""
        nonce = s["nonce"]
        text = pl.DataFrame(
            {
                "a": self.openers.gather(s["opener"]),
                "b": self.wrap_pre.gather(s["wrap"]),
                "c": self.texts.gather(s["task"]),
                "d": self.wrap_post.gather(s["wrap"]),
                "e": self.nonce_pre.gather(s["nonce_fmt"]),
                "f": pl.select(
                    pl.when(nonce > 0).then(nonce.cast(pl.String)).otherwise(pl.lit(""))
                ).to_series(),
                "g": self.nonce_post.gather(s["nonce_fmt"]),
            }
        ).select(pl.concat_str(pl.all()).str.slice(0, PROMPT_TEXT_MAX).alias("t"))["t"]
        self.con.register("slice_text", text.to_frame("prompt_text"))
        phash = self.con.sql(
            r"SELECT sha256(trim(regexp_replace(prompt_text, '\s+', ' ', 'g'))) AS h "
            "FROM slice_text"
        ).pl()["h"]
        self.con.unregister("slice_text")
        return text, phash

    def write_day(self, r: dict[str, np.ndarray], date: dt.date, path: Path) -> None:
        """Write the day in slices into one gzip member (mtime 0: reproducible bytes).

        A single background thread compresses slice k while slice k+1 is rendered (zlib and
        Polars both release the GIL); at most one slice waits, which bounds memory."""
        fields = [f for f in LOG_FIELD_NAMES if not (self.hashes_only and f == "prompt_text")]
        n = len(r["ts"])
        tmp = path.with_suffix(".tmp")
        with (
            tmp.open("wb") as raw,
            gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0
            ) as gz,
            ThreadPoolExecutor(max_workers=1) as pool,
        ):
            pending: Future[int] | None = None
            for lo in range(0, n, SLICE_ROWS):
                df = self._slice_frame(r, lo, min(n, lo + SLICE_ROWS), date).select(fields)
                buf = io.BytesIO()
                df.write_ndjson(buf)
                del df
                if pending is not None:
                    pending.result()
                pending = pool.submit(gz.write, buf.getbuffer())
            if pending is not None:
                pending.result()
        tmp.replace(path)
