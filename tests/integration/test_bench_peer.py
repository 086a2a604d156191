"""The benchmark's pandas peer computes what the pipeline's account_day computes."""

from __future__ import annotations

from datetime import date

import polars as pl

from bench.pandas_features import COLUMNS, account_day_features
from pipeline import SAMPLE_DIR
from pipeline.features.features import build_day_features
from pipeline.ingest.ingest import IngestParams, ingest

SAMPLE_LOGS = SAMPLE_DIR / "logs"


def test_the_pandas_peer_gives_the_pipelines_numbers(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    day_file = SAMPLE_LOGS / "requests-2026-04-02.jsonl.gz"
    (logs / day_file.name).write_bytes(day_file.read_bytes())
    out = tmp_path / "out"
    result = ingest(logs, out, date(2026, 4, 2), date(2026, 4, 2), run_id="t",
                    params=IngestParams(max_bad_share=0.0))
    build_day_features(out, result.days[0])
    ours = (pl.read_parquet(out / "account_day" / "date=2026-04-02" / "part-0.parquet")
            .select("account_id", *COLUMNS).sort("account_id"))
    peer = pl.from_pandas(account_day_features(logs)).drop("day").sort("account_id")
    assert ours.height == peer.height > 100
    for column in COLUMNS:
        assert ours[column].cast(pl.Int64).to_list() == peer[column].cast(pl.Int64).to_list(), \
            column

