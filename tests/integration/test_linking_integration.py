"""Linking on tiny worlds built in code, through the per-day tables and the linking stage:
rules that must link, rules that must not, stable ids; and on the sample, the simulator's
hard negatives."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from pipeline import SAMPLE_DIR
from pipeline.features.features import build_day_features, create_feature_views
from pipeline.linking.linking import LinkParams, link_accounts
from pipeline.publish.publication import FINDINGS
from pipeline.registry import ACCOUNT_COLUMNS, REQUESTS_COLUMNS
from pipeline.warehouse import DB_NAME, POLARS_TYPE, connect, partition_path, write_parquet_atomic
from simulator.evaluation import read_labels, score_linking

from conftest import DAY, query

SAMPLE = SAMPLE_DIR


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


def three_days(accounts: list[str]) -> list[dict[str, object]]:
    return [r for k in range(3) for r in quiet_day(accounts, DAY + timedelta(days=k))]


def rare_task(n: int) -> str:
    """A long task of its own: the words of LONG_TASK in an order drawn from ``n``."""
    words = LONG_TASK.split()
    order = sorted(range(len(words)), key=lambda w: spread(f"{n}-{w}", 10_000))
    return " ".join(words[w] for w in order)


def test_on_the_sample_hard_negatives_stay_apart_and_campaigns_stay_whole(sample_run):
    """The simulator's labels: an enterprise's accounts link (rightly), NAT students, VPN
    users, cloud apps and default-prompt users link to nobody of another operator, no
    benign account joins a campaign's cluster, and the loud campaign is one cluster."""
    labels = read_labels(SAMPLE / "labels.csv")
    clusters = pl.read_parquet(sample_run / "findings" / "clusters.parquet")
    score = score_linking(clusters, labels)
    assert score.benign_in_campaign_clusters == 0
    for population in ("shared_nat", "vpn", "cloud_app", "default_prompt", "app"):
        assert score.hard_negative_merges.get(population, 0) == 0, population
    enterprises = (clusters.join(labels, on="account_id")
                   .filter(pl.col("population") == "enterprise")
                   .group_by("operator_id").agg(pl.col("cluster_id").n_unique()))
    assert enterprises.height >= 2
    assert enterprises["cluster_id"].to_list() == [1] * enterprises.height
    assert score.per_campaign["op-harvest-1"]["clusters"] == 1.0


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


def test_a_wave_of_accounts_that_share_nothing_else_links_them_all(tmp_path):
    """Must link (creation_wave): thirty accounts created in twenty-five minutes of one day,
    each on its own network, at its own hours, with its own prompts and its own card and
    domain, where the window's other accounts were made one every two days or so: far more
    in those buckets than the window's creation rate allows, one registrant's batch."""
    wave = [f"w{i:02d}" for i in range(30)]
    created = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    accounts = ([account(n, created_at=created + timedelta(seconds=50 * i))
                 for i, n in enumerate(wave)] + [account(n) for n in BACKGROUND])
    clusters = build(tmp_path, three_days(BACKGROUND + wave), accounts)
    assert clusters.filter(pl.col("account_id").is_in(wave))["cluster_id"].n_unique() == 1
    assert clusters.filter(pl.col("account_id").is_in(BACKGROUND))["cluster_id"].n_unique() \
        == len(BACKGROUND)
    waves = query(tmp_path / DB_NAME, "SELECT DISTINCT wave FROM creation_wave "
                  "WHERE wave IS NOT NULL")
    assert waves == [("2026-03-30T12:00",)]


def test_a_launch_day_and_a_busy_hour_of_sign_ups_make_no_wave(tmp_path):
    """Must not link (creation_wave): on a launch day 294 accounts sign up, eight of them
    in its busiest ten minutes (a fourfold peak over the day's rate); and for fourteen days
    six accounts sign up every day between 12:00 and 12:10 (the hour a newsletter goes
    out). Against the window's mean rate both would be waves; against the day's and the
    clock's rate neither is, and nothing else ties them."""
    launch = [f"l{i:03d}" for i in range(294)]
    daily = [f"d{i:02d}" for i in range(84)]
    day = datetime(2026, 3, 28, tzinfo=UTC)
    peak = [day + timedelta(hours=12, minutes=i) for i in range(8)]
    spread_out = [day + timedelta(minutes=5 * i + 1) for i in range(288) if not 144 <= i < 146]
    noon = datetime(2026, 3, 14, 12, 1, tzinfo=UTC)
    accounts = ([account(n, created_at=t) for n, t in zip(launch, peak + spread_out,
                                                           strict=True)]
                + [account(n, created_at=noon + timedelta(days=i // 6, minutes=i % 6))
                   for i, n in enumerate(daily)]
                + [account(n) for n in BACKGROUND])
    clusters = build(tmp_path, three_days(BACKGROUND + launch + daily), accounts)
    assert query(tmp_path / DB_NAME, "SELECT count(*) FROM creation_wave "
                 "WHERE wave IS NOT NULL") == [(0,)]
    signed_up = clusters.filter(pl.col("account_id").is_in(launch + daily))
    assert signed_up["cluster_id"].n_unique() == len(launch) + len(daily)
    busiest = query(tmp_path / DB_NAME, "SELECT account_count, day_rate, span_rate "
                    "FROM creation_wave ORDER BY account_count DESC LIMIT 1")
    count, day_rate, span = busiest[0]
    assert count == 8 and day_rate > 1.5 and span < 0.05  # the launch peak: the day's rate
    noon = query(tmp_path / DB_NAME, "SELECT count(*), min(time_of_day_rate), max(day_rate) "
                 "FROM creation_wave WHERE bucket LIKE '%T12:00' AND account_count = 6")
    # every noon bucket: the clock's rate (six a day; three at the series' first and last
    # days, whose neighbours lie on one side), nothing else that day
    assert noon == [(14, 3.0, 0.0)]


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
