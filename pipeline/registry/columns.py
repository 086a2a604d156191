"""Columns that mean the same thing in more than one layer, declared once so that one
quantity never has two names or two types (private to the registry's modules).
"""

from __future__ import annotations

from pipeline.registry.shape import _c

_RUN = _c("run_id", "VARCHAR", "the run that wrote the row (runs.run_id)")
_ACCOUNT = _c("account_id", "VARCHAR", "the billing account / organization")
_SOURCE_FILE = _c("source_file", "VARCHAR", "the input file, relative to --logs")
_REQUESTS = _c("request_count", "BIGINT", "requests in the group, whatever their status")
_RATE_LIMITED = _c("rate_limited_count", "BIGINT", "requests answered 429 (rate limited)")
_INPUT_SUM = _c("input_tokens_sum", "BIGINT", "sum of input_tokens (uncached input)")
_OUTPUT_SUM = _c("output_tokens_sum", "BIGINT", "sum of output_tokens")
_CLUSTER = _c("cluster_id", "VARCHAR", "the case id of an account cluster (stable across runs)")
_WINDOW_START = _c("window_start", "DATE", "first day of the linking window")
_WINDOW_END = _c("window_end", "DATE", "last day of the window (the run's --end)")
_N_ACCOUNTS = _c("n_accounts", "BIGINT", "accounts in the cluster")
_FIRST_SEEN = _c("first_seen", "TIMESTAMPTZ", "the cluster's first request in the window")
_LAST_SEEN = _c("last_seen", "TIMESTAMPTZ", "the cluster's last request in the window")
