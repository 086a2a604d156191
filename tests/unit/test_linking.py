"""Linking on tiny worlds built in code: rules that must link, rules that must not, stable ids."""

from __future__ import annotations

import math
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from pipeline.features.features import build_day_features, create_feature_views
from pipeline.linking.lineage import assign_cluster_ids
from pipeline.linking.linking import (
    LinkParams,
    combine_evidence,
    edge_threshold,
    link_accounts,
)
from pipeline.linking.members import confirm_members
from pipeline.linking.surprise import binomial_surprise, count_surprise, fisher_surprise
from pipeline.publish.publication import FINDINGS
from pipeline.registry import ACCOUNT_COLUMNS, REQUESTS_COLUMNS
from pipeline.warehouse import (
    DB_NAME,
    POLARS_TYPE,
    connect,
    partition_path,
    sql_text,
    write_parquet_atomic,
)

from conftest import labels, query

DAY = date(2026, 4, 1)


def spread(name: str, modulo: int) -> int:
    """A stable pseudo-random number per name (Python's hash() changes per process)."""
    return zlib.crc32(name.encode()) % modulo


LONG_TASK = ("Natalia sold clips to 48 of her friends in April and then she sold half as "
             "many clips in May how many clips did Natalia sell altogether in April and May")


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def request(account: str, ts: datetime, **fields: object) -> dict[str, object]:
    """One kept request of the requests partition, with dull defaults that link nobody."""
    n = int(ts.timestamp())
    row: dict[str, object] = {
        "request_id": f"{account}-{n}-{fields.get('prompt_hash', '')}", "ts": ts,
        "account_id": account, "api_key_id": f"key-{account}",
        "source_ip": f"198.18.{spread(account, 200)}.{n % 250}", "user_agent": f"ua-{account}",
        "model": "model-a", "status": 200, "input_tokens": 100, "output_tokens": 50,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "max_tokens": 1024,
        "temperature": 0.7, "stop_reason": "end_turn", "latency_ms": 800, "system_hash": None,
        "prompt_hash": f"p-{account}-{n}", "prompt_text": f"own question {account} {n}",
        "ip_prefix": None, "source_file": "test.jsonl", "source_line": 1,
    }
    row.update(fields)
    if row["ip_prefix"] is None and row["source_ip"]:
        row["ip_prefix"] = ".".join(str(row["source_ip"]).split(".")[:3]) + ".0/24"
    return row


def build(out: Path, rows: list[dict[str, object]], accounts: list[dict[str, object]],
          params: LinkParams | None = None, run_id: str = "t") -> pl.DataFrame:
    """Write the partitions and accounts, build the day tables, link; return the clusters."""
    frame = pl.DataFrame(rows, schema={n: POLARS_TYPE[t] for n, t in REQUESTS_COLUMNS})
    for day, part in frame.group_by(pl.col("ts").dt.date()):
        target = partition_path(out, "requests", day[0])
        target.parent.mkdir(parents=True, exist_ok=True)
        part.sort("ts").write_parquet(target)
    pl.DataFrame(accounts, schema={n: POLARS_TYPE[t] for n, t in ACCOUNT_COLUMNS}) \
        .write_parquet(out / "accounts.parquet")
    days = sorted(frame["ts"].dt.date().unique())
    for day in days:
        build_day_features(out, day)
    db = connect(out / DB_NAME)
    try:
        db.execute("CREATE OR REPLACE TABLE accounts AS SELECT * FROM read_parquet($p)",
                   {"p": str(out / "accounts.parquet")})
        create_feature_views(db, out)
        link_accounts(db, days[0], days[-1], run_id=run_id, params=params)
        write_parquet_atomic(db.sql(FINDINGS["clusters.parquet"]).pl(),
                             out / "findings" / "clusters.parquet")
    finally:
        db.close()
    return pl.read_parquet(out / "findings" / "clusters.parquet")


def account(account_id: str, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "account_id": account_id, "created_at": datetime(2025, 1, 1, tzinfo=UTC)
        + timedelta(days=spread(account_id, 300), minutes=spread(account_id, 997)),
        "email_domain": f"{account_id}.example", "payment_fingerprint": f"card-{account_id}",
        "country": "US", "rpm_limit": 50, "itpm_limit": 20000,
    }
    row.update(fields)
    return row


def together(clusters: pl.DataFrame, a: str, b: str) -> bool:
    ids = dict(clusters.select("account_id", "cluster_id").iter_rows())
    return ids[a] == ids[b]


def quiet_day(accounts: list[str], day: date = DAY) -> list[dict[str, object]]:
    """A few unremarkable requests per account so that every account is seen, at hours and
    minutes drawn per account (a shared schedule would be evidence of one scheduler)."""
    return [request(a, at(day, 8 + spread(f"{a}h{i}", 12), spread(f"{a}m{i}", 60),
                          spread(f"{a}s{i}", 60)))
            for a in accounts for i in range(3)]


BACKGROUND = [f"bg{i:03d}" for i in range(150)]
"""Unrelated accounts, so that the window's null has a population to measure chance in."""


def test_count_surprise_is_the_negative_binomial_tail_and_survives_underflow():
    one = count_surprise(np.array([1.0]), np.array([0.1]), np.array([1.0]))[0]
    assert one == pytest.approx(-np.log10(0.1 / 1.1))
    near_poisson = count_surprise(np.array([1.0]), np.array([0.1]), np.array([1e9]))[0]
    assert near_poisson == pytest.approx(-np.log10(1 - np.exp(-0.1)), rel=1e-4)
    assert count_surprise(np.array([0.5]), np.array([50.0]), np.array([1.0]))[0] < 0.01
    deep = count_surprise(np.array([40.0, 41.0]), np.array([0.01, 0.01]), np.array([1e9] * 2))
    assert np.isfinite(deep).all() and deep[1] > deep[0] > 100


def test_a_threefold_excess_on_a_large_expectation_is_weak_and_forty_rare_are_not():
    """Heavy users of one corpus: 600 shared against 180 expected; forty rare prompts
    against 0.5 expected."""
    heavy, rare = count_surprise(np.array([600.0, 40.0]), np.array([180.0, 0.5]),
                                 np.array([1.0, 1.0]))
    assert heavy < 2 < 15 < rare


def test_fisher_surprise_of_one_component_is_that_component_and_many_weak_add_up():
    assert fisher_surprise(np.array([7.3]), np.array([1.0]))[0] == pytest.approx(7.3)
    assert fisher_surprise(np.array([2.0]), np.array([2.0]))[0] < 2.0
    assert fisher_surprise(np.array([20.0]), np.array([10.0]))[0] > 8.0


def test_the_edge_threshold_grows_with_the_pairs_of_the_window():
    assert edge_threshold(1_000, 0.01)["edge_surprise"] == pytest.approx(7.70, abs=0.01)
    assert edge_threshold(100_000, 0.01)["edge_surprise"] == pytest.approx(11.70, abs=0.01)


def test_a_card_three_hundred_accounts_share_links_them_all(tmp_path):
    """A payment instrument is one payer at any count (a reseller's card links too:
    linking is not accusation)."""
    pool = [f"p{i:03d}" for i in range(300)]
    clusters = build(tmp_path, quiet_day(pool + BACKGROUND),
                     [account(n, payment_fingerprint="card-pool") for n in pool]
                     + [account(n) for n in BACKGROUND])
    ids = dict(clusters.select("account_id", "cluster_id").iter_rows())
    assert len({ids[n] for n in pool}) == 1
    assert not any(ids[n] == ids[pool[0]] for n in BACKGROUND)


def test_without_the_card_kind_a_shared_card_links_nobody(tmp_path):
    """The ablation switch: left out of LinkParams.link_types, a kind adds nothing."""
    pool = [f"p{i:02d}" for i in range(20)]
    params = LinkParams(link_types=tuple(t for t in LinkParams().link_types
                                         if t.key_type != "payment_fingerprint"))
    clusters = build(tmp_path, quiet_day(pool + BACKGROUND),
                     [account(n, payment_fingerprint="card-pool") for n in pool]
                     + [account(n) for n in BACKGROUND], params=params)
    assert clusters["cluster_id"].n_unique() == len(pool) + len(BACKGROUND)


def test_a_consumer_mail_domain_of_many_unrelated_accounts_links_nobody(tmp_path):
    """500 customers of one ISP: the domain is a provider because the window shows many
    unrelated accounts hold it, whether or not it is on any list."""
    customers = [f"c{i:03d}" for i in range(500)]
    clusters = build(tmp_path, quiet_day(customers),
                     [account(n, email_domain="isp-mail.example") for n in customers])
    assert clusters["cluster_id"].n_unique() == len(customers)


def test_forty_rare_prompts_shared_within_minutes_link_two_accounts(tmp_path):
    """Two harvesting accounts on unrelated IPs dispatching the same forty rare prompts
    within minutes: forty independent coincidences, far past chance."""
    rows = quiet_day(["a", "b", *BACKGROUND])
    rows += [r for k in (1, 2, 3) for r in quiet_day(BACKGROUND, DAY + timedelta(days=k))]
    for i in range(40):
        t = at(DAY, 14, i)
        rows += [request("a", t, prompt_hash=f"rare{i}", prompt_text=f"task {i} alpha"),
                 request("b", t + timedelta(minutes=2), source_ip=f"192.0.2.{i}",
                         prompt_hash=f"rare{i}", prompt_text=f"task {i} alpha")]
    clusters = build(tmp_path, rows, [account(n) for n in ["a", "b", *BACKGROUND]])
    assert together(clusters, "a", "b")
    evidence = query(tmp_path / DB_NAME, "SELECT e.shared_count, e.surprise > t.edge_surprise "
                     "FROM account_link_evidence AS e, link_threshold AS t "
                     "WHERE e.key_type = 'same_prompt' AND e.account_a = 'a' "
                     "AND e.account_b = 'b'")
    assert evidence == [(40.0, True)]


def test_one_homework_prompt_forty_students_behind_one_nat_share_links_nobody(tmp_path):
    """Forty students behind one university NAT paste the same homework question in the
    same hour: one coincidence per pair on a prompt and a prefix the window shows many
    accounts share."""
    students = [f"s{i:02d}" for i in range(40)]
    rows = quiet_day(students + BACKGROUND)
    for i, student in enumerate(students):
        rows.append(request(student, at(DAY, 15, i), source_ip=f"203.0.113.{10 + i}",
                            prompt_hash="homework", prompt_text=LONG_TASK))
    clusters = build(tmp_path, rows, [account(n) for n in students + BACKGROUND])
    assert clusters.filter(pl.col("account_id").is_in(students))["cluster_id"].n_unique() \
        == len(students)


def test_a_key_pool_that_fails_over_repeatedly_links(tmp_path):
    """A key pool retries 429s on another account: five failovers of prompts the pair
    shares only through those retries."""
    rows = quiet_day(["a", "b", *BACKGROUND])
    for i in range(5):
        t = at(DAY, 14, 10 * i)
        rows += [request("a", t, status=429, prompt_hash=f"q{i}"),
                 request("b", t + timedelta(seconds=3), prompt_hash=f"q{i}")]
    clusters = build(tmp_path, rows, [account(n) for n in ["a", "b", *BACKGROUND]])
    assert together(clusters, "a", "b")


def test_a_chance_failover_between_busy_apps_sharing_public_prompts_does_not_link(tmp_path):
    """Two busy apps sending the same thirty public prompts within seconds: one 429
    followed by the other's copy is what chance gives that many shared prompts."""
    rows = quiet_day(["a", "b", *BACKGROUND])
    for i in range(30):
        t = at(DAY, 14, i)
        rows += [request("a", t, status=429 if i == 0 else 200, prompt_hash=f"pub{i}"),
                 request("b", t + timedelta(seconds=3), prompt_hash=f"pub{i}")]
        for j, other in enumerate(BACKGROUND[:30]):
            rows.append(request(other, t + timedelta(seconds=5 + j), prompt_hash=f"pub{i}"))
    clusters = build(tmp_path, rows, [account(n) for n in ["a", "b", *BACKGROUND]])
    failover = query(tmp_path / DB_NAME, "SELECT surprise FROM account_link_evidence "
                     "WHERE key_type = 'failover'")
    assert failover and failover[0][0] < 2
    assert not together(clusters, "a", "b")


def test_synchronized_starts_and_shared_prompts_over_days_link_a_behaviour_only_pair(tmp_path):
    """The careful operator: no shared registration or infrastructure, but on five days
    both accounts start together after a silence and send the same prompts."""
    rows = quiet_day(BACKGROUND)
    for day in (DAY + timedelta(days=k) for k in range(5)):
        for bot in ("x", "y"):
            rows += [request(bot, at(day, 3, 17, 5 + (bot == "y") * 20),
                             source_ip=f"192.0.{2 + (bot == 'y')}.{day.day}")]
            rows += [request(bot, at(day, 3, 20 + i), prompt_hash=f"t-{day}-{i}",
                             prompt_text=f"{LONG_TASK} nonce {bot}{day.day}q{i}")
                     for i in range(4)]
    clusters = build(tmp_path, rows, [account(n) for n in ["x", "y", *BACKGROUND]])
    assert together(clusters, "x", "y")
    assert clusters.filter(pl.col("cluster_id") == clusters.filter(
        pl.col("account_id") == "x")["cluster_id"][0]).height == 2


def test_one_day_of_a_shared_start_and_a_shared_prompt_does_not_link(tmp_path):
    """Two hobbyists who started in the same minutes one day and sent the same public
    prompt: chance."""
    rows = quiet_day(BACKGROUND)
    for user in ("x", "y"):
        rows += [request(user, at(DAY, 8, 0, 5)),
                 request(user, at(DAY, 12, 30), prompt_hash="public",
                         prompt_text=f"{LONG_TASK} nonce {user}q7")]
    clusters = build(tmp_path, rows, [account(n) for n in ["x", "y", *BACKGROUND]])
    assert not together(clusters, "x", "y")


def three_days(accounts: list[str]) -> list[dict[str, object]]:
    return [r for k in range(3) for r in quiet_day(accounts, DAY + timedelta(days=k))]


def test_a_private_mail_domain_moving_between_rare_prefixes_together_links(tmp_path):
    """Must link (email_domain, ip_prefix_hour): five accounts of one small registrant's
    domain, on each of three days together on a rare /24 of that day: registry and
    infrastructure, two families (a /24 counts once however many hours it is shared)."""
    crew = [f"k{i}" for i in range(5)]
    rows = three_days(BACKGROUND)
    for k in range(3):
        day = DAY + timedelta(days=k)
        rows += [request(a, at(day, 9 + h, (7 * i + h + 17 * k) % 60),
                         source_ip=f"203.0.{113 + k}.{20 + i}")
                 for i, a in enumerate(crew) for h in range(4)]
    clusters = build(tmp_path, rows, [account(n, email_domain="crew-mail.example")
                                      for n in crew] + [account(n) for n in BACKGROUND])
    assert clusters.filter(pl.col("account_id").is_in(crew))["cluster_id"].n_unique() == 1


def test_a_busy_cloud_prefix_links_nobody(tmp_path):
    """Must not link (ip_prefix_hour): forty apps in one cloud /24, every hour of three
    days: a prefix the window shows many unrelated accounts use."""
    apps = [f"a{i:02d}" for i in range(40)]
    rows = three_days(BACKGROUND)
    for k in range(3):
        day = DAY + timedelta(days=k)
        rows += [request(a, at(day, h, spread(f"{a}{h}", 60)), source_ip=f"198.51.100.{i}")
                 for i, a in enumerate(apps) for h in range(0, 24, 2)]
    clusters = build(tmp_path, rows, [account(n) for n in apps + BACKGROUND])
    assert clusters.filter(pl.col("account_id").is_in(apps))["cluster_id"].n_unique() \
        == len(apps)


def test_a_creation_burst_started_together_links_and_a_burst_alone_does_not(tmp_path):
    """created_burst: six accounts registered in one ten minutes whose work starts in the
    same minute every day, each from its own network, link (registry and timing); six
    others registered in one ten minutes (a launch day's sign-ups) and nothing else in
    common do not."""
    wave = [f"w{i}" for i in range(6)]
    signups = [f"u{i}" for i in range(6)]
    rows = three_days(BACKGROUND + signups)
    for k in range(3):
        day = DAY + timedelta(days=k)
        rows += [request(a, at(day, 10 + 3 * h, 17 + k, 5 * i),
                         source_ip=f"192.0.{10 + i}.{k}")
                 for i, a in enumerate(wave) for h in range(3)]
    created = datetime(2026, 3, 30, 12, 1, tzinfo=UTC)
    accounts = ([account(n, created_at=created + timedelta(minutes=i))
                 for i, n in enumerate(wave)]
                + [account(n, created_at=created + timedelta(days=1, minutes=i))
                   for i, n in enumerate(signups)]
                + [account(n) for n in BACKGROUND])
    clusters = build(tmp_path, rows, accounts)
    assert clusters.filter(pl.col("account_id").is_in(wave))["cluster_id"].n_unique() == 1
    assert clusters.filter(pl.col("account_id").is_in(signups))["cluster_id"].n_unique() \
        == len(signups)


def test_an_sdk_user_agent_and_default_prompt_link_nobody_even_when_rare(tmp_path):
    """Must not link (user_agent, system_hash): eight customers of a small agent framework
    share its user agent and default system prompt on every request for three days. The
    two are one correlated group and one family (client), and one family links nobody.
    (That client evidence never counts as a second family is not what this world tests.)"""
    users = [f"f{i}" for i in range(8)]
    rows = three_days(BACKGROUND)
    for k in range(3):
        day = DAY + timedelta(days=k)
        rows += [request(a, at(day, 8 + spread(f"{a}{j}{k}", 12), spread(f"{a}m{j}", 60)),
                         user_agent="tinyagent/0.3", system_hash="sys-tinyagent")
                 for a in users for j in range(6)]
    clusters = build(tmp_path, rows, [account(n) for n in users + BACKGROUND])
    assert clusters.filter(pl.col("account_id").is_in(users))["cluster_id"].n_unique() \
        == len(users)


def rare_task(n: int) -> str:
    """A long task of its own: the words of LONG_TASK in an order drawn from ``n``."""
    words = LONG_TASK.split()
    order = sorted(range(len(words)), key=lambda w: spread(f"{n}-{w}", 10_000))
    return " ".join(words[w] for w in order)


def test_paraphrases_of_rare_tasks_with_synchronized_starts_link(tmp_path):
    """Must link (prompt_band with sync_start): two accounts on unrelated IPs start
    together on three days and send paraphrases (nonces, reworded openings) of the same
    rare tasks: content and timing, two families. The background writes long prompts of
    its own, so that the window's null knows how rarely two accounts' prompts collide."""
    rows = three_days(BACKGROUND)
    rows += [request(a, at(DAY + timedelta(days=k), 8 + spread(f"{a}{k}{j}", 12), j),
                     prompt_hash=f"own-{a}-{k}-{j}", prompt_text=rare_task(1000 + 9 * n + j))
             for n, a in enumerate(BACKGROUND) for k in range(3) for j in range(3)]
    for k in range(3):
        day = DAY + timedelta(days=k)
        for bot in ("x", "y"):
            rows.append(request(bot, at(day, 2, 41, 5 + (bot == "y") * 30),
                                source_ip=f"192.0.{2 + (bot == 'y')}.{day.day}"))
            rows += [request(bot, at(day, 2, 45 + i), prompt_hash=f"{bot}-{k}-{i}",
                             prompt_text=f"{'Please' if bot == 'x' else 'Kindly'} answer: "
                             f"{rare_task(6 * k + i)} ref {bot}{k}{i}x9")
                     for i in range(6)]
    clusters = build(tmp_path, rows, [account(n) for n in ["x", "y", *BACKGROUND]])
    kinds = {r[0] for r in query(tmp_path / DB_NAME, "SELECT key_type FROM "
                                 "account_link_evidence WHERE account_a = 'x' AND "
                                 "account_b = 'y'")}
    assert {"prompt_band", "sync_start"} <= kinds
    assert together(clusters, "x", "y")


def test_paraphrases_of_a_popular_prompt_link_nobody(tmp_path):
    """Must not link (prompt_band): thirty people send their own rewording of one
    popular question at their own times: near-duplicates the window shows many share."""
    people = [f"q{i:02d}" for i in range(30)]
    rows = three_days(BACKGROUND)
    rows += [request(a, at(DAY, 8 + spread(a, 12), spread(f"{a}m", 60)),
                     prompt_hash=f"pop-{a}", prompt_text=f"{LONG_TASK} thanks {a}")
             for a in people]
    clusters = build(tmp_path, rows, [account(n) for n in people + BACKGROUND])
    assert clusters.filter(pl.col("account_id").is_in(people))["cluster_id"].n_unique() \
        == len(people)


def test_one_course_worked_through_on_different_days_links_nobody(tmp_path):
    """Must not link (prompt_band with email_domain): eight students of one small college
    (its own mail domain) each work through the same six rare exercises, each on a day of
    their own. A near-duplicate is keyed by its day: drawing the same tasks from one
    corpus on different days is no coincidence in time, and the domain alone is one
    family."""
    students = [f"s{i}" for i in range(8)]
    rows = three_days(BACKGROUND)
    rows += [request(a, at(DAY + timedelta(days=k), 8 + spread(f"{a}{k}{j}", 12), j),
                     prompt_hash=f"own-{a}-{k}-{j}", prompt_text=rare_task(1000 + 9 * n + j))
             for n, a in enumerate(BACKGROUND) for k in range(3) for j in range(3)]
    for i, a in enumerate(students):
        day = DAY + timedelta(days=i % 3, weeks=i // 3)
        rows += [request(a, at(day, 14 + spread(a, 6), 3 * t + spread(f"{a}{t}", 3)),
                         prompt_hash=f"hw-{a}-{t}",
                         prompt_text=f"Exercise {t}: {rare_task(500 + t)} (answer by {a})")
                 for t in range(6)]
    clusters = build(tmp_path, rows, [account(n, email_domain="college.example")
                                      for n in students] + [account(n) for n in BACKGROUND])
    assert clusters.filter(pl.col("account_id").is_in(students))["cluster_id"].n_unique() \
        == len(students)


def test_link_key_counts_a_band_by_its_accounts_over_the_window():
    """Golden case of sql/linking/link_key.sql: a band-day two accounts hold is a key; its
    popularity and weight are those of the band over the window (three accounts on two
    days), and a key one account holds is none."""
    con = duckdb.connect()
    con.execute("CREATE TABLE account_link_key (account_id VARCHAR, key_type VARCHAR, "
                "key_value VARCHAR, popular_as VARCHAR)")
    con.executemany("INSERT INTO account_link_key VALUES (?, ?, ?, ?)", [
        ("x", "prompt_band", "17 2026-04-01", "17"), ("y", "prompt_band", "17 2026-04-01", "17"),
        ("z", "prompt_band", "17 2026-04-02", "17"), ("x", "prompt_band", "18 2026-04-02", "18"),
        ("w", "email_domain", "d.example", None), ("z", "email_domain", "d.example", None),
        ("y", "email_domain", "y.example", None),
    ])
    rows = con.execute(sql_text("link_key")).fetchall()
    assert [r[:4] for r in rows] == [("email_domain", "d.example", 2, 0),
                                     ("prompt_band", "17 2026-04-01", 3, 1)]
    assert [r[4] for r in rows] == pytest.approx([math.log10(3 / 1), math.log10(3 / 2)])


def test_client_evidence_adds_to_a_pair_but_not_to_the_graph():
    """A shared SDK (user agent) strengthens a pair's own surprise but not its weight in
    the account graph, where it would chain every customer of one client."""
    evidence = pl.DataFrame({
        "account_a": ["a", "a", "c"], "account_b": ["b", "b", "d"],
        "family": ["client", "timing", "client"],
        "key_type": ["user_agent", "sync_start", "user_agent"],
        "surprise": [5.0, 2.0, 6.0],
    })
    pairs = combine_evidence(evidence, edge_threshold(100, 0.01))
    ab, cd = pairs.row(0, named=True), pairs.row(1, named=True)
    assert ab["surprise"] > 5.0 and ab["graph_surprise"] == pytest.approx(2.0)
    assert cd["surprise"] == pytest.approx(6.0) and cd["graph_surprise"] == 0.0


FAMILY = {"same_prompt": "content", "prompt_band": "content", "sync_start": "timing",
          "ip_prefix_hour": "infrastructure", "user_agent": "client",
          "payment_fingerprint": "registry"}


def member_world(community: int, others: int, shares: dict[str, list[tuple[str, str, float]]],
                 strong: list[tuple[str, str]] = ()) -> pl.DataFrame:
    """confirm_members on a window of ``community`` accounts m0.. (one Leiden community)
    and ``others`` accounts o0.. (each its own), every account holding 10 keys of each
    kind in ``shares`` (kind -> (account, other, shared count)): each shared thing is a
    key of its own that the two accounts hold; the ``strong`` pairs link on their own
    (``is_edge``)."""
    names = [f"m{i}" for i in range(community)] + [f"o{i}" for i in range(others)]
    labels = pl.DataFrame({"account_id": names,
                           "label": [0] * community + list(range(1, others + 1))})
    evidence = pl.DataFrame([
        {"account_a": min(a, b), "account_b": max(a, b), "family": FAMILY[kind],
         "key_type": kind, "stratum": 0, "shared_count": n, "expected_count": 0.01,
         "p_value": 0.01, "surprise": 2.0}
        for kind, rows in shares.items() for a, b, n in rows])
    null = pl.DataFrame([
        {"account_id": name, "key_type": kind, "stratum": 0, "key_count": 10,
         "coholder_count": 1, "type_incidences": 10 * len(names)}
        for name in names for kind in shares])
    shared = pl.DataFrame([
        {"account_id": holder, "key_type": kind, "key_value": f"{a} {b} {i}",
         "unit": f"{a} {b} {i}", "unit_weight": 1.0, "locale": None}
        for kind, rows in shares.items() if kind != "payment_fingerprint"
        for a, b, n in rows for i in range(int(n)) for holder in (a, b)])
    pairs = pl.DataFrame({"account_a": [min(p) for p in strong],
                          "account_b": [max(p) for p in strong],
                          "is_edge": [True] * len(strong)},
                         schema={"account_a": pl.String, "account_b": pl.String,
                                 "is_edge": pl.Boolean})
    threshold = edge_threshold(len(names), 0.01)
    return confirm_members(labels, evidence, pairs, null, shared, threshold, families=FAMILY)


def ring(prefix: str, size: int, reach: int) -> list[tuple[str, str, float]]:
    """Each account shares one thing with each of its next ``reach`` accounts."""
    return [(f"{prefix}{i}", f"{prefix}{(i + k) % size}", 1.0)
            for i in range(size) for k in range(1, reach + 1)]


def test_a_campaign_sharing_a_little_with_many_of_its_own_accounts_is_confirmed():
    """Must link: thirty accounts, each sharing a prompt and a synchronized start with
    eight others and with nobody outside: little per pair, all of it inside."""
    shares = {"same_prompt": ring("m", 30, 4), "sync_start": ring("m", 30, 4)}
    confirmed = member_world(30, 300, shares)
    assert confirmed.filter(pl.col("account_id").str.starts_with("m"))["label"] \
        .eq(0).all()


def test_one_kind_of_evidence_however_concentrated_does_not_confirm_a_member():
    """Must not link: the same thirty accounts sharing prompts only (a topic's heavy
    users, a corpus) are one explanation, not an operator."""
    shares = {"same_prompt": ring("m", 30, 4)}
    confirmed = member_world(30, 300, shares)
    assert confirmed.filter(pl.col("label") == 0).is_empty()


def test_a_heavy_user_sharing_with_everyone_is_not_confirmed_by_its_share_inside():
    """Must not link: an account sharing 40 prompts and 40 starts across the window, four
    of each with the community, holds no more of it than its appetite predicts."""
    inside = ring("m", 30, 4)
    heavy = [("m0", f"o{i}", 1.0) for i in range(36)] + [("m0", f"m{i}", 1.0)
                                                         for i in (5, 9, 13, 17)]
    shares = {"same_prompt": inside + heavy, "sync_start": inside + heavy}
    confirmed = member_world(30, 300, shares)
    assert confirmed.filter(pl.col("account_id") == "m0")["label"].item() != 0
    assert confirmed.filter(pl.col("account_id") == "m1")["label"].item() == 0


def test_a_team_held_by_its_own_links_does_not_ride_inside_a_campaign():
    """Must not link: four accounts of one team (m30..m33) linked to each other on their
    own, put by Leiden in a campaign's community with which they share nothing, stay
    only beside a member the test confirms; the campaign's thirty stay."""
    team = [f"m{i}" for i in range(30, 34)]
    strong = [(a, b) for i, a in enumerate(team) for b in team[i + 1:]]
    shares = {"same_prompt": ring("m", 30, 4), "sync_start": ring("m", 30, 4)}
    confirmed = member_world(34, 300, shares, strong)
    inside = set(confirmed.filter(pl.col("label") == 0)["account_id"])
    assert inside == {f"m{i}" for i in range(30)}


def test_a_small_group_of_strong_links_stands_when_nobody_in_it_is_tested_in():
    """Must link: three accounts whose pairs each link on their own (a key pool, say) and
    whose member tests do not reach the bar make a community of their own."""
    strong = [("m0", "m1"), ("m0", "m2"), ("m1", "m2")]
    confirmed = member_world(3, 300, {"same_prompt": [("m0", "m1", 1.0)]}, strong)
    assert set(confirmed.filter(pl.col("label") == 0)["account_id"]) == {"m0", "m1", "m2"}


def beside_a_campaign(kind: str, locale: str | None) -> float:
    """A user u whom Leiden put in one community with nine campaign accounts c0..c8, among
    290 other accounts, every account holding 10 keys of ``kind``: u's only sharing is 8
    keys of one unit (a prefix's hours, say), each held with all nine campaign accounts,
    in ``locale``. Returns u's member surprise after one test."""
    campaign = [f"c{i}" for i in range(9)]
    names = ["u", *campaign] + [f"o{i}" for i in range(290)]
    labels = pl.DataFrame({"account_id": names, "label": [0] * 10 + list(range(1, 291))})
    shared = pl.DataFrame([
        {"account_id": holder, "key_type": kind, "key_value": f"k{h}", "unit": "unit-1",
         "unit_weight": 1.0, "locale": locale}
        for h in range(8) for holder in ["u", *campaign]])
    null = pl.DataFrame([
        {"account_id": name, "key_type": kind, "stratum": 0, "key_count": 10,
         "coholder_count": 1, "type_incidences": 10 * len(names)} for name in names])
    evidence = pl.DataFrame(schema={"account_a": pl.String, "account_b": pl.String,
                                    "key_type": pl.String, "stratum": pl.Int32,
                                    "shared_count": pl.Float64, "expected_count": pl.Float64})
    pairs = pl.DataFrame(schema={"account_a": pl.String, "account_b": pl.String,
                                 "is_edge": pl.Boolean})
    confirmed = confirm_members(labels, evidence, pairs, null, shared,
                                edge_threshold(len(names), 0.01), families=FAMILY, rounds=1)
    return confirmed.filter(pl.col("account_id") == "u")["member_surprise"].item()


def test_a_units_keys_count_its_coholders_once():
    """Eight hours of one carrier prefix, each shared with the same nine campaign accounts,
    are nine co-holders of the community, not seventy-two: the binomial tail of 9 of 9 at
    the community's share of the window's keys (90 of the 2,990 that are not u's)."""
    q = 90 / 2990
    assert beside_a_campaign("ip_prefix_hour", None) == pytest.approx(
        binomial_surprise(np.array([9.0]), np.array([9.0]), np.array([q]))[0])


def test_starts_among_a_campaign_that_fills_the_hour_are_chance():
    """Must not confirm: a user starting in an hour only a campaign's accounts start in
    shares its buckets with them by chance, whatever the window's share of the campaign;
    against the window's null alone the same starts would hold it in the community."""
    assert beside_a_campaign("sync_start", "2026-04-01T03") == pytest.approx(0.0, abs=1e-9)
    assert beside_a_campaign("sync_start", None) > 10


def two_teams(cards: bool) -> list[tuple[str, str, float]]:
    """Two teams of eight in one community, each sharing prompts and starts among itself
    and nothing with the other; with ``cards`` each team pays with one card."""
    team = [[f"m{i}" for i in range(8)], [f"m{i}" for i in range(8, 16)]]
    rows = [(a, b, 1.0) for t in team for i, a in enumerate(t) for b in t[i + 1:]]
    shares = {"same_prompt": rows, "sync_start": rows}
    if cards:
        shares["payment_fingerprint"] = [(min(t), a, 1.0) for t in team for a in t
                                          if a != min(t)]  # a star on the card's first
    return member_world(16, 300, shares)


def test_two_card_holding_teams_are_not_one_community_by_what_each_shares_inside():
    """Must not link: a member is tied to its community by accounts other than its card's
    (card holders are joined afterwards anyway), so two enterprises that Leiden put
    together, each tight inside and sharing nothing with the other, come apart; without
    the cards the same sharing holds each member in."""
    apart = two_teams(cards=True)
    assert apart.filter(pl.col("label") == 0).is_empty()
    together_ = two_teams(cards=False)
    assert together_.filter(pl.col("account_id").str.starts_with("m"))["label"].eq(0).all()


def test_binomial_surprise_is_the_upper_tail_and_survives_underflow():
    assert binomial_surprise(np.array([6.0]), np.array([6.0]), np.array([0.5]))[0] \
        == pytest.approx(6 * np.log10(2))
    assert binomial_surprise(np.array([0.0]), np.array([5.0]), np.array([0.1]))[0] == 0.0
    deep = binomial_surprise(np.array([2000.0]), np.array([2000.0]), np.array([1e-3]))[0]
    assert deep == pytest.approx(6000.0)


def test_every_account_is_in_exactly_one_cluster_and_ids_repeat(tmp_path):
    names = [f"n{i}" for i in range(6)]
    accounts = [account(n, payment_fingerprint="card-1" if n in ("n0", "n1") else f"c-{n}")
                for n in names]
    first = build(tmp_path / "one", quiet_day(names), accounts)
    second = build(tmp_path / "two", quiet_day(names), accounts)
    assert first.equals(second)
    assert first["account_id"].is_unique().all()
    assert (tmp_path / "one" / "findings" / "clusters.parquet").read_bytes() == \
        (tmp_path / "two" / "findings" / "clusters.parquet").read_bytes()


def test_a_cluster_keeps_its_id_as_it_grows():
    previous, _ = assign_cluster_ids(labels({"a": 0, "b": 0, "c": 1}), None)
    old = dict(previous.select("account_id", "cluster_id").iter_rows())
    grown, lineage = assign_cluster_ids(labels({"a": 5, "b": 5, "d": 5, "c": 6}),
                                        previous.select("cluster_id", "account_id"))
    new = dict(grown.select("account_id", "cluster_id").iter_rows())
    assert new["a"] == new["d"] == old["a"]
    assert new["c"] == old["c"]
    events = dict(lineage.select("cluster_id", "event").iter_rows())
    assert events[old["a"]] == "grew"
    assert events[old["c"]] == "continued"


def test_merges_and_splits_are_recorded():
    previous, _ = assign_cluster_ids(labels({"a": 0, "b": 0, "c": 1, "d": 1, "e": 1}), None)
    old = dict(previous.select("account_id", "cluster_id").iter_rows())
    merged, lineage = assign_cluster_ids(labels({"a": 0, "b": 0, "c": 0, "d": 0, "e": 0}),
                                         previous.select("cluster_id", "account_id"))
    assert merged["cluster_id"].n_unique() == 1
    assert merged["cluster_id"][0] == old["c"]
    assert ("merged", old["a"]) in lineage.select("event", "previous_id").rows()
    split, lineage = assign_cluster_ids(labels({"a": 0, "b": 0, "c": 1, "d": 2, "e": 2}),
                                        previous.select("cluster_id", "account_id"))
    ids = dict(split.select("account_id", "cluster_id").iter_rows())
    assert ids["d"] == ids["e"] == old["c"]
    assert ids["c"] != old["c"]
    assert ("split", old["c"]) in lineage.select("event", "previous_id").rows()


def test_a_cluster_whose_accounts_all_left_the_window_has_ended():
    previous, _ = assign_cluster_ids(labels({"a": 0, "b": 0, "c": 1}), None)
    old = dict(previous.select("account_id", "cluster_id").iter_rows())
    _, lineage = assign_cluster_ids(labels({"c": 0, "x": 1}),
                                    previous.select("cluster_id", "account_id"))
    assert ("ended", old["a"], 0) in lineage.select("event", "cluster_id", "n_accounts").rows()
    assert ("continued", old["c"]) in lineage.select("event", "cluster_id").rows()
    assert not lineage.filter((pl.col("event") == "ended")
                              & (pl.col("cluster_id") == old["c"])).height


@pytest.mark.parametrize("lookback,expected_start", [(30, date(2026, 3, 3)),
                                                     (1, date(2026, 4, 1))])
def test_the_window_covers_the_range_and_the_lookback(lookback, expected_start):
    from pipeline.linking.linking import link_window

    first, last = link_window(date(2026, 4, 1), date(2026, 4, 1),
                              LinkParams(lookback_days=lookback))
    assert (first, last) == (expected_start, date(2026, 4, 1))


def test_near_duplicate_prompts_share_a_band_and_others_do_not(tmp_path):
    variants = {
        "a": f"Solve step by step and show your reasoning: {LONG_TASK} [ref a8f3k29x]",
        "b": f"Think carefully and explain each step. {LONG_TASK} (id: 77ab12cd9)",
        "c": "Write a sonnet about the sea and the moon with fourteen lines of verse",
        "d": "hi there",
    }
    rows = [request(name, at(DAY, 10, i), prompt_hash=f"h-{name}", prompt_text=text)
            for i, (name, text) in enumerate(variants.items())]
    build(tmp_path, rows, [account(n) for n in variants])
    shared = query(tmp_path / DB_NAME, """
        SELECT x.account_id, y.account_id, count(*) FROM account_band_day AS x
        JOIN account_band_day AS y USING (band_key, hour_at)
        WHERE x.account_id < y.account_id GROUP BY ALL""")
    assert [(a, b) for a, b, _ in shared] == [("a", "b")]
    assert query(tmp_path / DB_NAME,
                 "SELECT count(*) FROM account_band_day WHERE account_id = 'd'") == [(0,)]


def test_the_cluster_profile_counts_what_the_statistics_divide(tmp_path):
    """Three accounts on one card: a prefix passed between two of them within the TTL, a
    busted cache, reasoning prompts, a night request; the counts are exact."""
    from pipeline.detection.statistics import StatisticsParams, compute_statistics

    def prefixed(name: str, ts: datetime, **fields: object) -> dict[str, object]:
        return request(name, ts, system_hash="sys", input_tokens=50,
                       cache_creation_input_tokens=2000, **fields)

    rows = [
        prefixed("p", at(DAY, 12, 0, 0), prompt_text="Solve step by step: 2 + 2 = ?"),
        prefixed("q", at(DAY, 12, 1, 0), prompt_text="Think carefully: what is 3 + 3?"),
        prefixed("q", at(DAY, 12, 2, 0), prompt_text="Who wrote Hamlet?"),
        request("r", at(DAY, 3, 0, 0), prompt_text="Write a poem about the night"),
    ]
    names = ["p", "q", "r"]
    build(tmp_path, rows, [account(n, payment_fingerprint="one-card", country="GB")
                           for n in names])
    db = connect(tmp_path / DB_NAME)
    try:
        compute_statistics(db, DAY, DAY, StatisticsParams())
        profile = db.sql("SELECT * FROM cluster_profile").pl().row(0, named=True)
    finally:
        db.close()
    assert profile["n_accounts"] == 3
    assert profile["request_count"] == 4
    assert profile["cacheable_count"] == 3
    assert profile["handoff_count"] == 1
    assert profile["predicted_hit_count"] == 1
    assert profile["busted_count"] == 1
    assert profile["reasoning_elicited_count"] == 2
    assert profile["text_request_count"] == 4
    assert profile["night_request_count"] == 1
    assert profile["hourly_request_count"] == 4


LINK_CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "payment_fingerprint": (
        ("test_a_card_three_hundred_accounts_share_links_them_all",),
        ("test_two_card_holding_teams_are_not_one_community_by_what_each_shares_inside",)),
    "email_domain": (
        ("test_a_private_mail_domain_moving_between_rare_prefixes_together_links",),
        ("test_a_consumer_mail_domain_of_many_unrelated_accounts_links_nobody",
         "test_one_course_worked_through_on_different_days_links_nobody")),
    "created_burst": (
        ("test_a_creation_burst_started_together_links_and_a_burst_alone_does_not",),
        ("test_a_creation_burst_started_together_links_and_a_burst_alone_does_not",)),
    "system_hash": (
        ("test_client_evidence_adds_to_a_pair_but_not_to_the_graph",),
        ("test_an_sdk_user_agent_and_default_prompt_link_nobody_even_when_rare",)),
    "user_agent": (
        ("test_client_evidence_adds_to_a_pair_but_not_to_the_graph",),
        ("test_an_sdk_user_agent_and_default_prompt_link_nobody_even_when_rare",)),
    "ip_prefix_hour": (
        ("test_a_private_mail_domain_moving_between_rare_prefixes_together_links",),
        ("test_a_busy_cloud_prefix_links_nobody",)),
    "same_prompt": (
        ("test_forty_rare_prompts_shared_within_minutes_link_two_accounts",),
        ("test_one_homework_prompt_forty_students_behind_one_nat_share_links_nobody",)),
    "prompt_band": (
        ("test_paraphrases_of_rare_tasks_with_synchronized_starts_link",),
        ("test_paraphrases_of_a_popular_prompt_link_nobody",
         "test_one_course_worked_through_on_different_days_links_nobody")),
    "failover": (
        ("test_a_key_pool_that_fails_over_repeatedly_links",),
        ("test_a_chance_failover_between_busy_apps_sharing_public_prompts_does_not_link",)),
    "sync_start": (
        ("test_synchronized_starts_and_shared_prompts_over_days_link_a_behaviour_only_pair",),
        ("test_one_day_of_a_shared_start_and_a_shared_prompt_does_not_link",)),
}
"""Each evidence kind's worlds where it must link (or, for the client family, must add to
a pair) and where it must not: the hard negatives it exists to spare."""


def test_every_evidence_kind_has_a_world_to_link_and_one_to_spare():
    """A new kind without both is untested in one direction; a renamed test is caught."""
    assert set(LINK_CASES) == {t.key_type for t in LinkParams().link_types}
    for must_link, must_not in LINK_CASES.values():
        assert must_link and must_not
        assert all(callable(globals().get(name)) for name in must_link + must_not)

