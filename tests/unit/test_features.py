"""Per-day feature tables on tiny request sets built in code, with a real DuckDB.

Golden cases (``tests/golden/<table>/*.json``: input rows, params, expected rows) pin each
table's values, including rows that must not appear; the tests below pin what holds for
every table: types match the registry, empty days give empty typed partitions, days are
independent, the time-bounded joins stay joins (that re-runs write the same bytes is pinned
on a larger day in ``tests/integration/test_features_integration.py``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline import warehouse
from pipeline.errors import ForensicsError
from pipeline.features.features import (
    FeatureParams,
    Shard,
    build_day_features,
    build_shard,
    create_feature_views,
    merge_shards,
    open_day,
    shard_count,
    shard_folder,
)
from pipeline.ingest.accounts import ACCOUNTS_SNAPSHOT, export_accounts
from pipeline.registry import ACCOUNT_COLUMNS, FEATURE_TABLES, TABLES

from conftest import DAY
from feature_rows import read, request_row, synthetic_day, write_accounts, write_requests

READER = duckdb.connect()
"""One connection for every Parquet file's column types (a connection costs tens of
milliseconds; the tests read hundreds of files)."""


def duckdb_types(path: Path) -> list[tuple[str, str]]:
    rows = READER.execute("DESCRIBE SELECT * FROM read_parquet($p, hive_partitioning = false)",
                          {"p": str(path)}).fetchall()
    return [(r[0], r[1]) for r in rows]


def registry_types(table: str) -> list[tuple[str, str]]:
    spelled = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}
    return [(n, spelled.get(k, k)) for n, k in TABLES[table].column_types]


def test_every_table_is_written_with_the_registry_columns_and_types(tmp_path):
    out = tmp_path / "out"
    synthetic_day(out, 5_000)
    paths = build_day_features(out, DAY)
    assert [p.parent.parent.name for p in paths] == [t.name for t in FEATURE_TABLES]
    for path in paths:
        table = path.parent.parent.name
        assert duckdb_types(path) == registry_types(table), table
        assert pl.read_parquet(path).height > 0, table


@pytest.mark.parametrize("count", [2, 5])
def test_a_day_built_in_shards_and_merged_is_the_whole_days_bytes(tmp_path, count):
    whole, split = tmp_path / "whole", tmp_path / "split"
    for out in (whole, split):
        synthetic_day(out, 5_000)
    expected = {p.relative_to(whole): p.read_bytes() for p in build_day_features(whole, DAY)}
    # Failovers, prompt pairs and handoffs between accounts of different shards exist, so
    # a shard that read only its own accounts' requests would lose rows.
    crossing = READER.execute(
        "SELECT count(*) FROM read_parquet($p) "
        "WHERE hash(account_id) % $n <> hash(next_account_id) % $n",
        {"p": str(warehouse.partition_path(whole, "failover_day", DAY)), "n": count}).fetchone()
    assert crossing[0] > 0
    for i in range(count):
        build_shard(split, DAY, Shard(i, count))
    merged = merge_shards(split, DAY, count)
    assert {p.relative_to(split): p.read_bytes() for p in merged} == expected
    assert not shard_folder(split, DAY).parent.exists()
    assert not list(whole.glob("shards*"))


def test_a_merge_with_a_shard_missing_is_refused_naming_it(tmp_path):
    out = tmp_path / "out"
    synthetic_day(out, 500)
    build_shard(out, DAY, Shard(0, 3))
    build_shard(out, DAY, Shard(2, 3))
    with pytest.raises(ForensicsError, match=r"shard\(s\) 2/3 of the per-day tables are missing"):
        merge_shards(out, DAY, 3)
    assert not warehouse.partition_path(out, "account_day", DAY).exists()
    with pytest.raises(ForensicsError, match="shard 3 of 3: no such shard"):
        Shard(3, 3)


def test_a_day_is_split_by_its_request_count(tmp_path):
    out = tmp_path / "out"
    synthetic_day(out, 5_000)
    assert [shard_count(out, DAY, size) for size in (10_000, 5_000, 4_999, 2_000, 1)] == [
        1, 1, 2, 3, 5_000]
    with pytest.raises(ForensicsError, match="no requests partition for 2026-04-02"):
        shard_count(out, date(2026, 4, 2), 5_000)


def test_an_empty_day_gives_empty_typed_partitions(tmp_path):
    out = tmp_path / "out"
    write_requests(out, [])
    paths = build_day_features(out, DAY)
    assert len(paths) == len(FEATURE_TABLES)
    for path in paths:
        table = path.parent.parent.name
        assert pl.read_parquet(path).height == 0, table
        assert duckdb_types(path) == registry_types(table), table


def test_rows_are_sorted_on_the_table_key(tmp_path):
    out = tmp_path / "out"
    synthetic_day(out, 5_000)
    for path in build_day_features(out, DAY):
        table = TABLES[path.parent.parent.name]
        frame = pl.read_parquet(path)
        key = list(table.key)
        assert frame.equals(frame.sort(key)), table.name
        assert frame.select(key).is_duplicated().sum() == 0, table.name


def test_a_prompt_on_more_accounts_than_the_limit_makes_no_pairs(tmp_path):
    def run(n_accounts: int) -> list[dict[str, object]]:
        out = tmp_path / f"out-{n_accounts}"
        write_requests(out, [request_row(i, f"10:{i // 60:02d}:{i % 60:02d}", f"acct-{i:03d}",
                                         prompt_hash="hi") for i in range(n_accounts)])
        build_day_features(out, DAY)
        return read(out, "prompt_pair_day")

    assert run(60) == []
    at_limit = run(50)
    assert len(at_limit) == 50 * 49 // 2
    assert {(r["shared_prompt_count"], r["co_occurrence_count"]) for r in at_limit} == {(1, 1)}


def test_an_account_missing_from_accounts_keeps_its_row(tmp_path):
    out = tmp_path / "out"
    write_requests(out, [request_row(1, "10:00:00", "known"), request_row(2, "10:00:01", "new")])
    write_accounts(out, [{"account_id": "known", "rpm_limit": 4}])
    build_day_features(out, DAY)
    rows = {r["account_id"]: r for r in read(out, "account_day")}
    assert set(rows) == {"known", "new"}
    assert (rows["known"]["rpm_limit"], rows["known"]["peak_rpm_limit_ratio"]) == (4, 0.25)
    assert (rows["new"]["rpm_limit"], rows["new"]["peak_rpm_limit_ratio"]) == (None, None)


def test_an_account_listed_twice_makes_one_row_with_its_higher_limits(tmp_path):
    out = tmp_path / "out"
    write_requests(out, [request_row(1, "10:00:00", "twice")])
    write_accounts(out, [{"account_id": "twice", "rpm_limit": 4, "itpm_limit": 900},
                         {"account_id": "twice", "rpm_limit": 8, "itpm_limit": 100}])
    build_day_features(out, DAY)
    rows = read(out, "account_day")
    assert [(r["rpm_limit"], r["itpm_limit"]) for r in rows] == [(8, 900)]


def test_days_build_independently_without_the_database(tmp_path):
    out = tmp_path / "out"
    other = date(2026, 4, 2)
    write_requests(out, [request_row(1, "10:00:00", "a")])
    write_requests(out, [request_row(1, "2026-04-02T10:00:00Z", "b"),
                         request_row(2, "2026-04-02T11:00:00Z", "b")], other)
    build_day_features(out, other)
    assert not warehouse.partition_path(out, "account_day", DAY).exists()
    build_day_features(out, DAY)
    assert [(r["account_id"], r["request_count"]) for r in read(out, "account_day")] == [("a", 1)]
    assert [(r["account_id"], r["request_count"])
            for r in read(out, "account_day", other)] == [("b", 2)]
    assert not (out / warehouse.DB_NAME).exists()


def test_a_day_runs_under_a_memory_ceiling_spilling_into_the_output_folder(tmp_path):
    out = tmp_path / "out"
    write_requests(out, [request_row(1, "10:00:00", "a")])
    with open_day(out, DAY, FeatureParams(memory_limit="512MiB")) as con:
        limit, spill = con.execute("SELECT current_setting('memory_limit'), "
                                   "current_setting('temp_directory')").fetchone()
        assert limit == "512.0 MiB"
        assert Path(spill).parent == out and Path(spill).is_dir()
    assert not Path(spill).exists()
    build_day_features(out, DAY)
    assert not list(out.glob(".spill-*"))


def test_a_day_without_a_requests_partition_is_refused(tmp_path):
    with pytest.raises(ForensicsError, match="no requests partition"):
        build_day_features(tmp_path / "out", DAY)


@pytest.mark.parametrize("bad", [
    {"failover_seconds": 0}, {"pair_minutes": -1}, {"max_accounts_per_prompt": 1},
])
def test_nonsense_parameters_are_refused(bad):
    with pytest.raises(ForensicsError):
        FeatureParams(**bad)


@pytest.mark.parametrize("table", ["failover_day", "prompt_pair_day", "account_template_day",
                                   "account_capability_day"])
def test_joins_stay_equality_joins_never_a_cross_product(tmp_path, table):
    con = warehouse.connect()
    try:
        path = write_requests(tmp_path, [request_row(1, "10:00:00", "a", status=429)])
        con.read_parquet(str(path)).create_view("requests")
        query = warehouse.sql_text(table)
        values = FeatureParams().sql_parameters(DAY)
        plan = "\n".join(str(row[-1]) for row in con.execute(
            f"EXPLAIN {query}", {k: v for k, v in values.items() if f"${k}" in query}
        ).fetchall())
    finally:
        con.close()
    operators = plan.upper().replace(" ", "_")
    assert "HASH_JOIN" in operators
    for operator in ("CROSS_PRODUCT", "NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN", "PIECEWISE_MERGE",
                     "IE_JOIN", "ASOF_JOIN"):
        assert operator not in operators, plan


def test_export_accounts_snapshots_the_table_or_an_empty_one(tmp_path):
    out = tmp_path / "out"
    db = warehouse.connect(tmp_path / "forensics.duckdb")
    try:
        empty = export_accounts(db, out)
        assert pl.read_parquet(empty).height == 0
        assert [n for n, _ in duckdb_types(empty)] == [n for n, _ in ACCOUNT_COLUMNS]
        db.execute("CREATE TABLE accounts AS SELECT 'b' AS account_id, "
                   "TIMESTAMPTZ '2026-01-01 00:00:00+00' AS created_at, 'x.io' AS email_domain, "
                   "'pf' AS payment_fingerprint, 'US' AS country, 7 AS rpm_limit, "
                   "1000 AS itpm_limit UNION ALL SELECT 'a', NULL, NULL, NULL, NULL, 3, NULL")
        path = export_accounts(db, out)
    finally:
        db.close()
    assert path == out / ACCOUNTS_SNAPSHOT
    assert [r["account_id"] for r in pl.read_parquet(path).to_dicts()] == ["a", "b"]
    assert duckdb_types(path) == [
        (n, {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}.get(k, k)) for n, k in ACCOUNT_COLUMNS]
    write_requests(out, [request_row(1, "10:00:00", "b")])
    build_day_features(out, DAY)
    assert read(out, "account_day")[0]["rpm_limit"] == 7


def test_feature_views_are_typed_before_any_day_and_read_every_day_after(tmp_path):
    out = tmp_path / "out"
    db = warehouse.connect(tmp_path / "forensics.duckdb")
    try:
        create_feature_views(db, out)
        for table in FEATURE_TABLES:
            described = db.execute(f"DESCRIBE {table.name}").fetchall()
            assert [(r[0], r[1]) for r in described][:-1] == registry_types(table.name)
        write_requests(out, [request_row(1, "10:00:00", "a")])
        write_requests(out, [request_row(1, "2026-04-02T10:00:00Z", "a")], date(2026, 4, 2))
        build_day_features(out, DAY)
        build_day_features(out, date(2026, 4, 2))
        create_feature_views(db, out)
        rows = db.execute("SELECT date, account_id, request_count FROM account_day "
                          "ORDER BY date").fetchall()
    finally:
        db.close()
    assert rows == [(DAY, "a", 1), (date(2026, 4, 2), "a", 1)]


def test_views_never_read_an_out_folder_where_the_command_runs(tmp_path, monkeypatch):
    """The database's relative paths resolve against its own folder only: a command run
    where another out/ lies (the demo's, in a project folder) must not read it."""
    decoy = tmp_path / "elsewhere"
    write_requests(decoy / "out", [request_row(1, "10:00:00", "decoy")])
    build_day_features(decoy / "out", DAY)
    home = tmp_path / "case"
    write_requests(home / "out", [request_row(1, "10:00:00", "a")])
    build_day_features(home / "out", DAY)
    monkeypatch.chdir(decoy)
    db = warehouse.connect(home / "forensics.duckdb")
    try:
        create_feature_views(db, home / "out")
        rows = db.execute("SELECT account_id FROM account_day").fetchall()
    finally:
        db.close()
    assert rows == [("a",)]
