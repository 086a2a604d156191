"""Ingest on real files and a real DuckDB database: formats, quarantine, accounting, safety."""

from __future__ import annotations

import hashlib
import os
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline import warehouse
from pipeline.errors import BadInputCeiling, ForensicsError, ShortDay
from pipeline.ingest.ingest import IngestParams, discover_files, ingest
from pipeline.registry import REQUESTS_COLUMNS

from conftest import DAY, LENIENT, compress, jsonl_bytes, partition, query, record, write_logs


def run(logs: Path, out: Path, start: date = DAY, end: date = DAY,
        params: IngestParams = LENIENT):
    return ingest(logs, out, start, end, run_id="test", params=params)


@pytest.mark.parametrize("fmt,compression", [
    ("jsonl", "none"), ("jsonl", "gzip"), ("jsonl", "zstd"),
    ("csv", "none"), ("csv", "gzip"), ("csv", "zstd"),
    ("parquet", "none"),
])
def test_every_format_and_compression_gives_the_same_rows(logs, out, fmt, compression):
    records = [record(i) for i in range(40)]
    write_logs(logs, "day", records, fmt, compression)
    result = run(logs, out)
    assert (result.rows_read, result.rows_kept, result.rows_quarantined) == (40, 40, 0)
    got = pl.read_parquet(partition(out)).sort("request_id")
    assert got["request_id"].to_list() == [f"req-{i:06d}" for i in range(40)]
    assert got["input_tokens"].to_list() == [100 + i for i in range(40)]
    assert got["temperature"].to_list() == [0.7] * 40
    assert [c for c, _ in REQUESTS_COLUMNS] == got.columns
    assert str(got.schema["ts"]) == "Datetime(time_unit='us', time_zone='UTC')"


def test_every_quarantine_reason_is_counted_exactly(logs, out):
    lines = [
        record(1),
        record(2),
        b"\xff\xfe not utf-8 at all",
        "{not json",
        "[1, 2, 3]",
        record(3, account_id=None),
        record(4, model=""),
        record(5, status="two hundred"),
        record(6, ts="2026-04-01 10:00:00"),
        record(7, user_agent={"nested": True}),
        record(8, input_tokens=-5),
        record(9, status=999),
        record(10, temperature=7.5),
        record(1, account_id="acct-dup"),
        record(2),
    ]
    (logs).mkdir()
    (logs / "a.jsonl").write_bytes(jsonl_bytes(lines))
    result = run(logs, out)
    assert result.by_reason == {
        "undecodable bytes": 1,
        "malformed record": 2,
        "missing required field": 2,
        "wrong type": 3,
        "negative or impossible value": 3,
        "duplicate request_id": 2,
    }
    assert (result.rows_read, result.rows_kept, result.rows_quarantined) == (15, 2, 13)
    rows = query(out / "forensics.duckdb",
                 "SELECT source_line, reason, reason_fields FROM quarantine ORDER BY source_line")
    assert rows[0] == (3, "undecodable bytes", None)
    assert (6, "missing required field", "account_id") in rows
    assert (9, "wrong type", "ts") in rows
    assert (10, "wrong type", "user_agent") in rows
    assert (11, "negative or impossible value", "input_tokens") in rows
    assert (14, "duplicate request_id", "request_id") in rows
    kept = pl.read_parquet(partition(out))
    assert kept["account_id"].to_list() == ["acct-1", "acct-2"]


def test_the_first_of_duplicates_is_kept_across_files(logs, out):
    write_logs(logs, "a", [record(1, account_id="first")])
    write_logs(logs, "b", [record(1, account_id="second")])
    run(logs, out)
    assert pl.read_parquet(partition(out))["account_id"].to_list() == ["first"]
    assert query(out / "forensics.duckdb", "SELECT source_file FROM quarantine") == [("b.jsonl",)]


def test_rows_in_equal_kept_plus_quarantined_plus_outside_the_range(logs, out):
    records = [record(i) for i in range(10)]
    records += [record(100 + i, ts=f"2026-04-0{2 + i % 3}T12:00:00+00:00") for i in range(9)]
    records += [record(200, input_tokens=-1), record(201, ts="2026-05-01T00:00:00Z",
                                                     status="bad")]
    write_logs(logs, "mixed", records)
    result = run(logs, out, DAY, date(2026, 4, 2))
    assert result.rows_read == 21
    assert result.rows_out_of_range == 7
    assert result.rows_quarantined == 1
    assert result.rows_kept == 13
    ledger = query(out / "forensics.duckdb",
                   "SELECT rows_read, rows_kept, rows_quarantined, rows_out_of_range, balanced "
                   "FROM ingest_ledger")
    assert ledger == [(21, 13, 1, 7, True)]
    assert [d.isoformat() for d in result.days] == ["2026-04-01", "2026-04-02"]
    assert pl.read_parquet(partition(out, date(2026, 4, 2))).height == 3


RFC3339 = [
    ("2026-04-01t10:00:00z", "2026-04-01T10:00:00.000000"),
    ("2026-04-01T23:59:60Z", "2026-04-01T23:59:59.999999"),
    ("2026-04-01T10:00:00+0200", "2026-04-01T08:00:00.000000"),
    ("2026-04-01T24:00:00Z", None),
    ("2026-04-01T10:00:00+99:00", None),
    ("2026-04-01T10:61:00Z", None),
    ("2026-02-30T10:00:00Z", None),
]
"""Timestamps and the UTC time each is kept as (None: refused as the wrong type)."""


@pytest.fixture(scope="module")
def rfc3339_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """One ingest of one request per timestamp of ``RFC3339`` (the tests only read it): the
    kept times by request id, and the quarantine reasons by request id."""
    folder = tmp_path_factory.mktemp("rfc3339")
    logs, out = folder / "logs", folder / "out"
    write_logs(logs, "t", [record(i, ts=ts) for i, (ts, _) in enumerate(RFC3339)])
    run(logs, out)
    kept = pl.read_parquet(partition(out)).select(
        "request_id", pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"))
    refused = query(out / "forensics.duckdb", "SELECT request_id, reason FROM quarantine")
    return dict(kept.iter_rows()), dict(refused)


@pytest.mark.parametrize(("i", "ts", "kept_as"), [(i, *case) for i, case in enumerate(RFC3339)])
def test_rfc3339_is_read_by_its_own_rules(rfc3339_run, i, ts, kept_as):
    """Lower-case 't'/'z' and a leap second are valid RFC 3339 and are kept (the leap
    second stays on its day); an hour of 24 and an offset past 23:59 are not and are the
    wrong type, never a shifted time."""
    kept, refused = rfc3339_run
    request_id = record(i)["request_id"]
    if kept_as is None:
        assert refused.get(request_id) == "wrong type", ts
        assert request_id not in kept, ts
    else:
        assert kept.get(request_id) == kept_as, ts
        assert request_id not in refused, ts


def test_timestamps_with_offsets_and_epoch_milliseconds_land_on_their_utc_day(logs, out):
    write_logs(logs, "t", [
        record(1, ts="2026-04-02T01:30:00+02:00"),
        record(2, ts="2026-03-31T22:00:00-03:00"),
        record(3, ts=1775001600000),
        record(4, ts="1775001600123"),
        record(5, ts="2026-04-01T23:59:59.999999Z"),
    ])
    run(logs, out)
    got = pl.read_parquet(partition(out)).sort("request_id")
    assert got["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S%.6f").to_list() == [
        "2026-04-01T23:30:00.000000",
        "2026-04-01T01:00:00.000000",
        "2026-04-01T00:00:00.000000",
        "2026-04-01T00:00:00.123000",
        "2026-04-01T23:59:59.999999",
    ]


def test_normalization_fills_prefixes_hashes_and_cache_defaults(logs, out):
    write_logs(logs, "n", [
        record(1, source_ip="198.51.100.77", prompt_text="  hello \n\t world  "),
        record(2, source_ip="2001:DB8:0:1::5", prompt_hash="given", prompt_text="x"),
        record(3, source_ip="2001:0db8:0000:0001:0000:0000:0000:0006", prompt_text="hello world"),
        record(4, source_ip="::1", cache_creation_input_tokens=None,
               cache_read_input_tokens=None),
    ])
    run(logs, out)
    got = pl.read_parquet(partition(out)).sort("request_id")
    assert got["ip_prefix"].to_list() == [
        "198.51.100.0/24", "2001:db8:0::/48", "2001:db8:0::/48", "0:0:0::/48"]
    expected = hashlib.sha256(b"hello world").hexdigest()
    assert got["prompt_hash"].to_list()[0] == expected
    assert got["prompt_hash"].to_list()[1] == "given"
    assert got["prompt_hash"].to_list()[2] == expected
    assert got["cache_read_input_tokens"].to_list()[3] == 0
    assert got["cache_creation_input_tokens"].to_list()[3] == 0


def test_an_invalid_ip_is_the_wrong_type(logs, out):
    write_logs(logs, "ip", [record(1, source_ip="300.1.1.1"), record(2, source_ip="fe80:::1")])
    result = run(logs, out)
    assert result.by_reason == {"wrong type": 2}


def test_a_one_megabyte_line_is_kept_whole(logs, out):
    big = "word " * 220_000
    write_logs(logs, "big", [record(1, prompt_text=big), record(2)])
    result = ingest(logs, out, DAY, DAY, run_id="t",
                    params=IngestParams(max_bad_share=1.0, block_bytes=64 << 10))
    assert result.rows_kept == 2
    got = pl.read_parquet(partition(out)).sort("request_id")
    assert len(got["prompt_text"][0]) == len(big)


def test_an_empty_file_and_blank_lines_count_as_no_rows(logs, out):
    logs.mkdir()
    (logs / "empty.jsonl").write_bytes(b"")
    (logs / "empty.csv.gz").write_bytes(compress(b"", "gzip"))
    (logs / "blank.jsonl").write_bytes(b"\n  \n" + jsonl_bytes([record(1)]) + b"\r\n\n")
    result = run(logs, out)
    assert (result.rows_read, result.rows_kept, result.rows_quarantined) == (1, 1, 0)
    assert len(result.files) == 3


def test_a_file_of_only_bad_rows_is_all_quarantined(logs, out):
    logs.mkdir()
    (logs / "bad.jsonl").write_bytes(jsonl_bytes(["{", "nope", record(1, status=None)]))
    result = run(logs, out)
    assert (result.rows_read, result.rows_kept, result.rows_quarantined) == (3, 0, 3)
    assert pl.read_parquet(partition(out)).height == 0


def test_a_csv_line_with_extra_columns_is_malformed(logs, out):
    logs.mkdir()
    header = "request_id,ts,account_id,model,status,input_tokens,output_tokens"
    (logs / "c.csv").write_text(
        f"{header}\nr1,2026-04-01T00:00:00Z,a,m,200,1,2\nr2,2026-04-01T00:00:00Z,a,m,200,1,2,9\n"
        "r3,2026-04-01T00:00:00Z,a,m,200,x,2\n")
    result = run(logs, out)
    assert result.by_reason == {"malformed record": 1, "wrong type": 1}
    assert result.rows_kept == 1


CSV_HEADER = "request_id,ts,account_id,model,status,input_tokens,output_tokens"


@pytest.mark.parametrize(("broken", "lost_lines"), [
    ('r2,"2026-04-01T00:00:00Z,a,m,200,1,2', 2),
    ("r2,2026-04-01T00:00:00Z," + "x" * (17 << 20) + ",m,200,1,2", 1),
], ids=["a quote never closed", "a line over 16 MiB"])
def test_a_broken_csv_line_is_quarantined_not_the_file(logs, out, broken, lost_lines):
    """DuckDB's sniffer gave up on the whole file (exit 1, a traceback). A quote that never
    closes takes the rest of the file into one broken record; a line too long for the
    reader is one broken record."""
    logs.mkdir()
    (logs / "c.csv").write_text(f"{CSV_HEADER}\r\nr1,2026-04-01T00:00:00Z,a,m,200,1,2\r\n"
                                f"{broken}\r\nr3,2026-04-01T00:00:00Z,a,m,200,1,2\r\n")
    result = run(logs, out)
    assert result.by_reason == {"malformed record": 1}
    assert result.rows_kept == 3 - lost_lines
    assert query(out / "forensics.duckdb", "SELECT source_line FROM quarantine") == [(3,)]


def test_a_csv_header_naming_a_column_twice_stops_the_run(logs, out):
    logs.mkdir()
    (logs / "c.csv").write_text("request_id,ts,ts\nr1,2026-04-01T00:00:00Z,x\n")
    with pytest.raises(ForensicsError, match=r"c\.csv: the CSV header repeats ts"):
        run(logs, out)


def test_the_bad_share_ceiling_stops_before_any_partition_changes(logs, out):
    write_logs(logs, "good", [record(i) for i in range(50)])
    run(logs, out, params=IngestParams())
    before = partition(out).read_bytes()
    (logs / "worse.jsonl").write_bytes(jsonl_bytes(["{broken"] * 3 + [record(100)]))
    with pytest.raises(BadInputCeiling, match=r"worse\.jsonl") as err:
        run(logs, out, params=IngestParams(max_bad_share=0.01))
    assert "2026-04-01" in str(err.value)
    assert partition(out).read_bytes() == before
    assert query(out / "forensics.duckdb", "SELECT count(*) FROM quarantine") == [(3,)]


def test_a_rerun_writes_byte_identical_partitions_and_does_not_double_the_quarantine(logs, out):
    write_logs(logs, "a", [record(i) for i in range(500)] + [record(1)], compression="gzip")
    run(logs, out)
    first = partition(out).read_bytes()
    run(logs, out)
    assert partition(out).read_bytes() == first
    assert query(out / "forensics.duckdb", "SELECT count(*) FROM quarantine") == [(1,)]


def test_a_rerun_replaces_the_day_whole(logs, out):
    write_logs(logs, "a", [record(i) for i in range(20)])
    run(logs, out)
    (logs / "a.jsonl").unlink()
    write_logs(logs, "b", [record(i + 1000) for i in range(3)])
    run(logs, out)
    assert sorted(pl.read_parquet(partition(out))["request_id"]) == [
        "req-001000", "req-001001", "req-001002"]


def test_a_crash_between_write_and_rename_leaves_the_old_partition(logs, out, monkeypatch):
    write_logs(logs, "a", [record(i) for i in range(20)])
    run(logs, out)
    before = partition(out).read_bytes()
    write_logs(logs, "b", [record(i + 1000) for i in range(20)])

    def crash(src: object, dst: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(warehouse.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        run(logs, out)
    monkeypatch.undo()
    assert partition(out).read_bytes() == before
    assert [p.name for p in partition(out).parent.iterdir()] == ["part-0.parquet"]


def test_the_requests_view_and_accounts_table_are_queryable(logs, out, tmp_path):
    write_logs(logs, "a", [record(i) for i in range(5)])
    accounts = tmp_path / "accounts.csv"
    pl.DataFrame({
        "account_id": ["acct-0", "acct-1"], "created_at": ["2026-03-01T00:00:00Z"] * 2,
        "email_domain": ["a.example", "b.example"], "payment_fingerprint": ["p1", "p2"],
        "country": ["US", "DE"], "rpm_limit": [50, 1000], "itpm_limit": [20000, 80000],
    }).write_csv(accounts)
    ingest(logs, out, DAY, date(2026, 4, 2), run_id="t", accounts=accounts, params=LENIENT)
    db = out / "forensics.duckdb"
    assert query(db, "SELECT date, count(*) FROM requests GROUP BY date ORDER BY date") == [
        (DAY, 5)]
    assert query(db, "SELECT account_id, rpm_limit FROM accounts ORDER BY account_id") == [
        ("acct-0", 50), ("acct-1", 1000)]


def test_a_linked_folder_is_read_once_and_a_broken_link_stops_the_run(logs, tmp_path, out):
    write_logs(logs / "2026", "a", [record(i) for i in range(3)])
    (logs / "again").symlink_to(logs / "2026", target_is_directory=True)
    (logs / "2026" / "loop").symlink_to(logs, target_is_directory=True)
    files, skipped = discover_files(logs)
    assert [f.source_file for f in files] == ["2026/a.jsonl"]
    assert skipped == ["2026/loop/: the same folder as ./, read once",
                       "again/: the same folder as 2026/, read once"]
    (logs / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    with pytest.raises(ForensicsError, match=r"gone.jsonl: not a readable file"):
        ingest(logs, out, DAY, DAY, run_id="t")


@pytest.mark.parametrize("problem,match", [
    ("missing", "logs folder not found"),
    ("reversed", "before start"),
    ("empty", "no log files"),
])
def test_user_mistakes_are_clear_errors(tmp_path, out, problem, match):
    logs = tmp_path / "logs"
    if problem != "missing":
        logs.mkdir()
    if problem == "reversed":
        write_logs(logs, "a", [record(1)])
    start, end = (date(2026, 4, 2), DAY) if problem == "reversed" else (DAY, DAY)
    with pytest.raises(ForensicsError, match=match):
        ingest(logs, out, start, end, run_id="t")
    assert not partition(out).exists()


def test_files_that_are_not_logs_are_named_not_read(logs, out):
    write_logs(logs, "a", [record(1)])
    (logs / "README.txt").write_text("not a log")
    (logs / ".hidden.jsonl").write_text("{")
    result = run(logs, out)
    assert result.skipped_files == ["README.txt: not a log file (.jsonl .csv .parquet)"]
    assert result.rows_read == 1


def test_no_staging_is_left_behind(logs, out):
    write_logs(logs, "a", [record(1)])
    run(logs, out)
    leftovers = [p for p in out.rglob("*") if ".staging" in p.parts or p.name.endswith(".tmp")]
    assert leftovers == []
    assert os.listdir(out / "requests") == ["date=2026-04-01"]


def test_gzip_members_and_padding_are_read_like_gzip_does(logs, out):
    """Logs rotated by appending gzip members (and padded with zeros by some shippers)."""
    logs.mkdir()
    first = compress(jsonl_bytes([record(i) for i in range(3)]), "gzip")
    second = compress(jsonl_bytes([record(i) for i in range(3, 5)]), "gzip")
    (logs / "rotated.jsonl.gz").write_bytes(first + second + b"\0" * 512)
    result = run(logs, out)
    assert (result.rows_read, result.rows_kept) == (5, 5)
    lines = pl.read_parquet(partition(out)).sort("source_line")["source_line"].to_list()
    assert lines == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("compression,suffix,damage,message", [
    ("gzip", "gz", lambda data: data[: len(data) // 2], "ends before its last member"),
    ("gzip", "gz", lambda data: data[:10] + b"\xff" * 40 + data[50:],
     "not a readable gzip file"),
    ("zstd", "zst", lambda data: data[: len(data) // 2], "ends before its last frame"),
    ("zstd", "zst", lambda data: data[:10] + b"\xff" * 40 + data[50:],
     "not a readable zstd file"),
])
def test_a_damaged_archive_stops_the_run_naming_it(logs, out, compression, suffix, damage,
                                                   message):
    """A cut .zst used to keep the rows before the cut and exit 0 (issue 13)."""
    logs.mkdir()
    data = compress(jsonl_bytes([record(i) for i in range(254)]), compression)
    (logs / f"cut.jsonl.{suffix}").write_bytes(damage(data))
    with pytest.raises(ForensicsError, match=f"cut.jsonl.{suffix}: .*{message}"):
        run(logs, out)
    assert not partition(out).exists()


def test_an_epoch_outside_the_timestamp_range_is_quarantined_not_a_crash(logs, out):
    """A nanosecond epoch read as milliseconds is past year 294,000: one bad row, not an
    aborted ingest (issue 13)."""
    write_logs(logs, "a", [record(1), record(2, ts=1775001600000000000)])
    result = run(logs, out)
    assert (result.rows_kept, result.rows_quarantined) == (1, 1)
    assert result.by_reason == {"wrong type": 1}


def test_zstd_frames_written_one_after_another_are_all_read(logs, out):
    logs.mkdir()
    frames = [compress(jsonl_bytes([record(i) for i in range(k, k + 3)]), "zstd")
              for k in (0, 3)]
    (logs / "rotated.jsonl.zst").write_bytes(b"".join(frames))
    assert run(logs, out).rows_kept == 6


def test_a_file_with_no_readable_day_counts_against_the_ceiling(logs, out):
    """A day re-encoded as UTF-16 has no row with a readable time, so it fed no day and
    its rows were quarantined while the run published, exit 0 (issue 13)."""
    write_logs(logs, "good", [record(i) for i in range(50)])
    (logs / "utf16.jsonl").write_bytes(
        jsonl_bytes([record(i) for i in range(50, 80)]).decode().encode("utf-16"))
    with pytest.raises(BadInputCeiling, match=r"utf16\.jsonl"):
        run(logs, out, params=IngestParams(max_bad_share=0.01))
    assert not partition(out).exists()


@pytest.mark.parametrize("name", ["empty.jsonl.gz", "empty.jsonl.zst"])
def test_a_zero_byte_archive_is_not_an_archive(logs, out, name):
    """gzip -t and zstd -t reject a 0-byte file; so does ingest, naming it (issue 13). An
    archive of nothing is still fine (test_an_empty_file_and_blank_lines_count_as_no_rows)."""
    write_logs(logs, "a", [record(1)])
    (logs / name).write_bytes(b"")
    with pytest.raises(ForensicsError, match=f"{name}: not a"):
        run(logs, out)


def test_a_day_that_kept_no_rows_stops_the_run_naming_where_the_rows_went(logs, out):
    """A log-shipping outage: the file read holds only other days' rows."""
    write_logs(logs, "a", [record(i) for i in range(5)])
    ingest(logs, out, DAY, DAY, run_id="good")
    published = partition(out).read_bytes()
    with pytest.raises(ShortDay) as raised:
        ingest(logs, out, date(2026, 4, 2), date(2026, 4, 2), run_id="empty")
    message = str(raised.value)
    assert message.startswith("2026-04-02 kept no rows")
    assert "Read 1 file(s), 5 rows: 0 kept, 0 quarantined, 5 outside 2026-04-02..2026-04-02" \
        in message
    assert raised.value.exit_code == 6
    assert not partition(out, date(2026, 4, 2)).exists()
    assert partition(out).read_bytes() == published


def test_a_day_far_below_the_days_before_it_stops_the_run(logs, out):
    """Must fire: 2 rows after days of 40. Must not fire: 30 rows after days of 40."""
    rows = [record(i, ts=f"2026-04-0{d}T10:{i:02d}:00Z", request_id=f"r{d}-{i}")
            for d in (1, 2, 3) for i in range(40)]
    write_logs(logs, "a", rows + [record(i, ts=f"2026-04-04T10:{i:02d}:00Z",
                                         request_id=f"r4-{i}") for i in range(2)])
    ingest(logs, out, DAY, date(2026, 4, 3), run_id="good")
    with pytest.raises(ShortDay, match=r"2026-04-04 kept 2 rows, under 10% of the median "
                                       r"of the days before it \(40\)"):
        ingest(logs, out, date(2026, 4, 4), date(2026, 4, 4), run_id="short")
    write_logs(logs, "a", rows + [record(i, ts=f"2026-04-04T10:{i:02d}:00Z",
                                         request_id=f"r4-{i}") for i in range(30)])
    result = ingest(logs, out, date(2026, 4, 4), date(2026, 4, 4), run_id="quieter")
    assert result.rows_kept == 30


def test_one_busy_day_before_a_quiet_one_is_no_outage(logs, out):
    """Must not fire: a range's first day held a burst (400 rows) and its second 20; one
    day before makes no median (``min_trailing_days``)."""
    write_logs(logs, "a", [record(i, ts=f"2026-04-01T{i // 60:02d}:{i % 60:02d}:00Z")
                           for i in range(400)]
               + [record(1000 + i, ts=f"2026-04-02T10:{i:02d}:00Z") for i in range(20)])
    result = ingest(logs, out, DAY, date(2026, 4, 2), run_id="t")
    assert result.rows_kept == 420


def test_allow_empty_publishes_an_empty_day(logs, out):
    write_logs(logs, "a", [record(i) for i in range(5)])
    result = ingest(logs, out, date(2026, 4, 2), date(2026, 4, 2), run_id="t",
                    params=IngestParams(allow_empty=True))
    assert result.rows_out_of_range == 5
    assert pl.read_parquet(partition(out, date(2026, 4, 2))).height == 0
