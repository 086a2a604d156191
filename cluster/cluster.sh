#!/usr/bin/env bash
# A multi-worker Airflow on this machine: CeleryExecutor, a PostgreSQL metadata database,
# a Redis broker, an api-server, a scheduler, a dag-processor and two Celery workers, all
# running the repository's dags/ unchanged. `make cluster-up` / `make cluster-down` call it.
#
#   cluster/cluster.sh up       start what is not running, wait until healthy, say how to use it
#   cluster/cluster.sh down     stop everything `up` started (by its pid files); idempotent
#   cluster/cluster.sh status   what runs, by pid file
#   cluster/cluster.sh tasks [DAG_ID] [RUN_ID]   a run's tasks and the worker each ran on
#
# Everything lives in one folder, CLUSTER_DIR (default .cluster/ in the repository):
#   env                  the settings (sourced by this script; `source .cluster/env` for the CLI)
#   airflow/             AIRFLOW_HOME: airflow.cfg, task logs (one folder all components share)
#   pg/data, pg/run      the PostgreSQL cluster (initdb) and its socket folder
#   redis/               redis.conf and its data
#   workers/workerN/     each worker's working folder (its cwd, FORENSICS_WORK_DIR for s3://)
#   logs/NAME.log        each service's output; pids/NAME.pid its process id
#
# PostgreSQL and Redis are the distribution's (Debian: postgresql, redis-server), installed
# with apt-get when missing and the script runs as root; the servers are this folder's own,
# on 127.0.0.1 ports, never the system's services. Nothing here reaches the network but
# those installs. Environment: CLUSTER_DIR, CLUSTER_API_PORT (8280), CLUSTER_PG_PORT (5499),
# CLUSTER_REDIS_PORT (6399), CLUSTER_WORKERS (2), CLUSTER_WORKER_CONCURRENCY (1),
# CLUSTER_TIMEOUT (seconds `up` waits, 300). FORENSICS_* and AWS_* variables set when `up`
# runs reach the tasks (the workers' environment), as with `airflow standalone`.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER_DIR=$(mkdir -p "${CLUSTER_DIR:-$REPO/.cluster}" && cd "${CLUSTER_DIR:-$REPO/.cluster}" && pwd)
VENV_BIN=${VENV_BIN:-$REPO/.venv/bin}
API_PORT=${CLUSTER_API_PORT:-8280}
PG_PORT=${CLUSTER_PG_PORT:-5499}
REDIS_PORT=${CLUSTER_REDIS_PORT:-6399}
WORKERS=${CLUSTER_WORKERS:-2}
CONCURRENCY=${CLUSTER_WORKER_CONCURRENCY:-1}
TIMEOUT=${CLUSTER_TIMEOUT:-300}

PIDS=$CLUSTER_DIR/pids
LOGS=$CLUSTER_DIR/logs
HOST=$(hostname)

say() { printf 'cluster: %s\n' "$*"; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

# --- the distribution's servers --------------------------------------------------------

apt_install() {  # PACKAGE...: only as root, as .ci/run does
    [ "$(id -u)" = 0 ] || die "missing $*: install with apt-get install $* (needs root)"
    say "installing $* (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bin() {  # the newest /usr/lib/postgresql/N/bin
    find /usr/lib/postgresql -maxdepth 3 -path '*/bin/initdb' 2>/dev/null \
        | sort -t/ -k5,5n | tail -1 | xargs -r dirname
}

ensure_packages() {
    if [ -z "$(pg_bin)" ]; then
        # Only the binaries: the package's own cluster is neither created nor used.
        mkdir -p /etc/postgresql-common
        [ -e /etc/postgresql-common/createcluster.conf ] \
            || echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
        apt_install postgresql
    fi
    command -v redis-server >/dev/null || apt_install redis-server
    [ -x "$VENV_BIN/airflow" ] || die "no $VENV_BIN/airflow: run make cluster-up (it builds .venv)"
}

# PostgreSQL refuses to run as root: as root, its folder belongs to the postgres user.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# --- settings ----------------------------------------------------------------------------

secret() { "$VENV_BIN/python" -c 'import secrets; print(secrets.token_hex(24))'; }

write_env() {
    # Secrets are made once and kept; the rest is written on every `up` from the options.
    if [ ! -s "$CLUSTER_DIR/secrets" ]; then
        (umask 077; {
            echo "PG_PASSWORD=$(secret)"
            echo "REDIS_PASSWORD=$(secret)"
            echo "JWT_SECRET=$(secret)"
            echo "API_SECRET=$(secret)"
            echo "FERNET_KEY=$("$VENV_BIN/python" -c \
                'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        } > "$CLUSTER_DIR/secrets")
    fi
    # shellcheck source=/dev/null
    . "$CLUSTER_DIR/secrets"
    local db="airflow:$PG_PASSWORD@127.0.0.1:$PG_PORT/airflow"
    (umask 077; cat > "$CLUSTER_DIR/env" <<EOF
# Written by cluster/cluster.sh up. \`source $CLUSTER_DIR/env\` to use the airflow CLI on the cluster.
export PATH="$VENV_BIN:\$PATH"
export AIRFLOW_HOME="$CLUSTER_DIR/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
export AIRFLOW__CORE__FERNET_KEY="$FERNET_KEY"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$API_PORT/execution/"
export AIRFLOW__CORE__HOSTNAME_CALLABLE=pipeline.run.orchestration.worker_hostname
# No login: the UI and API listen on 127.0.0.1 only, and everyone there is an admin.
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT=$API_PORT
export AIRFLOW__API__SECRET_KEY="$API_SECRET"
export AIRFLOW__API_AUTH__JWT_SECRET="$JWT_SECRET"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg://$db"
# psycopg 3 for the async engine too: Airflow would otherwise derive asyncpg, not installed.
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC="postgresql+psycopg_async://$db"
export AIRFLOW__CELERY__BROKER_URL="redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0"
export AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql+psycopg://$db"
export AIRFLOW__CELERY__WORKER_CONCURRENCY=$CONCURRENCY
# A task's supervisor notices that the task's process ended only when it next wakes, up to
# this many seconds later (default 5), and its Celery slot stays taken meanwhile: a
# sample day's task works 3 s. At 1, a simulated week's 7 day tasks on 2 workers took 16 to
# 17 s, not 21 to 26.
export AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL=1
export GX_ANALYTICS_ENABLED=False
EOF
)
    # shellcheck source=/dev/null
    . "$CLUSTER_DIR/env"
}

# --- processes ---------------------------------------------------------------------------

pid_of() {  # NAME: the live pid its pid file names, or nothing
    local f=$PIDS/$1.pid pid
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

start() {  # NAME CWD COMMAND...: in a session of its own, so `down` stops it with its children
    local name=$1 cwd=$2; shift 2
    if [ -n "$(pid_of "$name")" ]; then say "$name already running (pid $(pid_of "$name"))"; return; fi
    mkdir -p "$cwd"
    (cd "$cwd" && exec setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null) &
    echo $! > "$PIDS/$name.pid"
    say "$name started (pid $!, log $LOGS/$name.log)"
}

descendants() {  # PID: its children, theirs, and so on
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$child"; descendants "$child"
    done
}

stop() {  # NAME...: TERM each process, its group and its descendants, all at once; KILL
    # what is left after 30 s (a Celery worker first finishes the task it runs)
    local name pid procs="" stopped="" p i alive=""
    for name in "$@"; do
        pid=$(pid_of "$name")
        [ -n "$pid" ] || { rm -f "$PIDS/$name.pid"; continue; }
        procs="$procs $pid $(descendants "$pid" | tr '\n' ' ')"
        stopped="$stopped $name($pid)"
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for p in $procs; do kill -TERM "$p" 2>/dev/null || true; done
    for i in $(seq 60); do
        alive=""
        for p in $procs; do if kill -0 "$p" 2>/dev/null; then alive="$alive $p"; fi; done
        [ -z "$alive" ] && break
        sleep 0.5
    done
    if [ -n "$alive" ]; then
        say "killing$alive (still running after 30 s)"
        for p in $alive; do kill -KILL "$p" 2>/dev/null || true; done
    fi
    for name in "$@"; do rm -f "$PIDS/$name.pid"; done
    if [ -n "$stopped" ]; then say "stopped$stopped"; fi
}

# --- the services --------------------------------------------------------------------------

start_postgres() {
    local bin data=$CLUSTER_DIR/pg/data run=$CLUSTER_DIR/pg/run
    bin=$(pg_bin)
    mkdir -p "$run"
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- test -x "$CLUSTER_DIR" || die "the postgres user (the server" \
            "refuses to run as root) cannot enter $CLUSTER_DIR: pick a CLUSTER_DIR whose" \
            "folders others may enter (chmod o+x)"
        chown -R postgres: "$CLUSTER_DIR/pg"
    fi
    if [ ! -s "$data/PG_VERSION" ]; then
        local pw=$CLUSTER_DIR/pg/.pw
        (umask 077; echo "$PG_PASSWORD" > "$pw")
        if [ "$(id -u)" = 0 ]; then chown postgres: "$pw"; fi
        as_pg "$bin/initdb" -D "$data" -U airflow --pwfile="$pw" --auth=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log" 2>&1 || die "initdb failed: $LOGS/initdb.log"
        rm -f "$pw"
    fi
    if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        say "postgres already running"
    else
        as_pg "$bin/pg_ctl" -D "$data" -l "$CLUSTER_DIR/pg/server.log" -w -t 60 \
            -o "-p $PG_PORT -k $run -c listen_addresses=127.0.0.1" start >/dev/null \
            || die "postgres did not start: $CLUSTER_DIR/pg/server.log"
        say "postgres started on 127.0.0.1:$PG_PORT (data $data)"
    fi
    head -1 "$data/postmaster.pid" > "$PIDS/postgres.pid"
    if ! PGPASSWORD=$PG_PASSWORD "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U airflow -d postgres \
            -tAc "select 1 from pg_database where datname = 'airflow'" | grep -q 1; then
        PGPASSWORD=$PG_PASSWORD "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U airflow airflow
    fi
}

stop_postgres() {
    local data=$CLUSTER_DIR/pg/data pid i
    pid=$(pid_of postgres)
    if [ -s "$data/postmaster.pid" ] && as_pg "$(pg_bin)/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_pg "$(pg_bin)/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    # pg_ctl returns once the server removed its pid file, a moment before it exits.
    if [ -n "$pid" ]; then
        for i in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        say "postgres stopped (pid $pid)"
    fi
    rm -f "$PIDS/postgres.pid"
}

start_redis() {
    local dir=$CLUSTER_DIR/redis
    mkdir -p "$dir"
    (umask 077; cat > "$dir/redis.conf" <<EOF
# Written by cluster/cluster.sh: the broker of this folder's cluster, not the system's.
bind 127.0.0.1
port $REDIS_PORT
requirepass $REDIS_PASSWORD
daemonize no
dir $dir
save ""
appendonly no
EOF
)
    start redis "$dir" redis-server "$dir/redis.conf"
}

airflow_service() {  # NAME ARGS...: an airflow command run from AIRFLOW_HOME
    local name=$1; shift
    start "$name" "$AIRFLOW_HOME" "$VENV_BIN/airflow" "$@"
}

start_worker() {  # N
    local name=worker$1 dir=$CLUSTER_DIR/workers/worker$1
    mkdir -p "$dir/work"
    # Its own working folder, as if it were another machine: its cwd, and the local
    # folder a task with s3:// output works in. Task logs go to the shared AIRFLOW_HOME
    # (one machine), so no worker serves logs over HTTP.
    FORENSICS_WORKER_NAME=$name FORENSICS_WORK_DIR=$dir/work \
        start "$name" "$dir" "$VENV_BIN/airflow" celery worker \
        --celery-hostname "$name@$HOST" --concurrency "$CONCURRENCY" --skip-serve-logs
}

health() { curl -fsS --max-time 5 "http://127.0.0.1:$API_PORT/api/v2/monitor/health" 2>/dev/null; }

wait_healthy() {
    local started=$1 deadline=$((SECONDS + TIMEOUT)) name missing
    while :; do
        for name in api-server scheduler dag-processor $(seq -f 'worker%g' "$WORKERS") redis; do
            [ -n "$(pid_of "$name")" ] || { tail -20 "$LOGS/$name.log" >&2; die "$name exited: $LOGS/$name.log"; }
        done
        # The api-server's health: the metadata database, and the scheduler's and the
        # dag-processor's heartbeats in it. A worker is ready when Celery says so.
        missing=$( (health || echo '{}') | "$VENV_BIN/python" -c '
import json, sys
h = json.load(sys.stdin)
print(" ".join(n for n in ("metadatabase", "scheduler", "dag_processor")
               if (h.get(n) or {}).get("status") != "healthy"))')
        for name in $(seq -f 'worker%g' "$WORKERS"); do
            grep -q "$name@$HOST ready" "$LOGS/$name.log" 2>/dev/null || missing="$missing $name"
        done
        missing=${missing# }
        [ -z "$missing" ] && break
        [ $SECONDS -lt $deadline ] || die "not healthy after $TIMEOUT s: $missing (logs in $LOGS)"
        sleep 2
    done
    say "healthy after $((SECONDS - started)) s: metadatabase, scheduler, dag-processor, $WORKERS worker(s)"
}

up() {
    local started=$SECONDS n
    ensure_packages
    mkdir -p "$PIDS" "$LOGS"
    write_env
    mkdir -p "$AIRFLOW_HOME"
    start_postgres
    start_redis
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" --no-auth-warning -a "$REDIS_PASSWORD" ping \
        2>/dev/null | grep -q PONG && break; sleep 0.2; done
    say "migrating the metadata database (airflow db migrate)"
    (cd "$AIRFLOW_HOME" && "$VENV_BIN/airflow" db migrate >>"$LOGS/migrate.log" 2>&1) \
        || die "airflow db migrate failed: $LOGS/migrate.log"
    airflow_service api-server api-server --host 127.0.0.1 --port "$API_PORT"
    airflow_service scheduler scheduler --skip-serve-logs
    airflow_service dag-processor dag-processor
    for n in $(seq "$WORKERS"); do start_worker "$n"; done
    wait_healthy "$started"
    cat <<EOF

Airflow (CeleryExecutor, $WORKERS workers) is up; state in $CLUSTER_DIR.
  UI:       http://127.0.0.1:$API_PORT   (no login: bound to 127.0.0.1, everyone there is admin)
  CLI:      source $CLUSTER_DIR/env
  trigger:  airflow dags trigger rerun_range --conf '{"start": "2026-04-01", "end": "2026-04-03", "out": "/tmp/forensics-cluster"}'
            airflow dags unpause nightly_forensics    # the nightly run at 02:00 UTC, from the workers' FORENSICS_* settings
  watch:    cluster/cluster.sh tasks rerun_range    # the latest run's tasks and the worker of each
  stop:     make cluster-down
EOF
}

down() {
    # The Airflow services together, then the broker, then the database they all use.
    # shellcheck disable=SC2046
    stop $(cd "$PIDS" 2>/dev/null && ls worker*.pid 2>/dev/null | sed 's/\.pid$//') \
        dag-processor scheduler api-server
    stop redis
    stop_postgres
    say "stopped (state kept in $CLUSTER_DIR; remove it to start afresh)"
}

tasks() {  # [DAG_ID] [RUN_ID]: the run's task instances, where each ran (default: the latest run)
    local port=$API_PORT
    # The port the running cluster was started with, unless one is given.
    if [ -z "${CLUSTER_API_PORT:-}" ] && [ -s "$CLUSTER_DIR/env" ]; then
        port=$(sed -n 's/^export AIRFLOW__API__PORT=//p' "$CLUSTER_DIR/env")
    fi
    "$VENV_BIN/python" - "http://127.0.0.1:$port/api/v2" "${1:-rerun_range}" "${2:-}" <<'PY'
import json, sys, urllib.parse, urllib.request
api, dag, run = sys.argv[1:]
def get(path):
    with urllib.request.urlopen(f"{api}/{path}", timeout=30) as response:
        return json.load(response)
if not run:
    runs = get(f"dags/{dag}/dagRuns?order_by=-run_after&limit=1")["dag_runs"]
    if not runs:
        sys.exit(f"cluster: {dag} has no run")
    run = runs[0]["dag_run_id"]
state = get(f"dags/{dag}/dagRuns/{urllib.parse.quote(run, safe='')}")
print(f"{dag} {run}: {state['state']}, {state['duration'] or 0:.1f} s")
tis = get(f"dags/{dag}/dagRuns/{urllib.parse.quote(run, safe='')}/taskInstances?limit=1000")
for ti in sorted(tis["task_instances"], key=lambda t: (t["start_date"] or "~", t["map_index"])):
    print(f"  {ti['task_id']:<12} {ti.get('rendered_map_index') or '':<11} {ti['state'] or '':<9} "
          f"{ti['hostname'] or '':<10} {ti['duration'] or 0:6.1f} s")
PY
}

status() {
    local name pid workers
    if compgen -G "$PIDS/worker*.pid" >/dev/null; then
        workers=$(cd "$PIDS" && ls worker*.pid | sed 's/\.pid$//')
    else
        workers=$(seq -f 'worker%g' "$WORKERS")
    fi
    for name in postgres redis api-server scheduler dag-processor $workers; do
        pid=$(pid_of "$name")
        if [ -n "$pid" ]; then printf '%-14s running (pid %s)\n' "$name" "$pid"
        else printf '%-14s stopped\n' "$name"; fi
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    tasks) shift; tasks "$@" ;;
    *) die "usage: $0 up|down|status|tasks [DAG_ID] [RUN_ID]" ;;
esac
