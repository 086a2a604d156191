# Every target builds the virtual environment on first use, from the hash-pinned lock,
# installed as it is (--no-deps: the lock is the whole resolution, so pip resolves nothing
# again; a package's extra, such as fastapi-cli's uvicorn[standard], is otherwise a new
# requirement without a pin, which hash-checking refuses once the index holds a newer
# release than the lock's) and then checked for consistency (pip check).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
OUT ?= out

.PHONY: demo test test-fast test-cluster lint bench eval lock clean cluster-up cluster-down \
	cluster-status

$(STAMP): requirements.lock pyproject.toml
	rm -f $(VENV)/.installed-*
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r requirements.lock
	$(BIN)/python -m pip check --disable-pip-version-check
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## Run the pipeline on the bundled sample into ./out (OUT=dir to change).
demo: $(STAMP)
	$(BIN)/forensics demo --out $(OUT)

## Run the test suite (what CI runs), on TEST_WORKERS processes (pytest-xdist; 0: in this
## one). Each test file runs whole on one worker (--dist loadfile), so a module's shared
## fixture (an Airflow home, a published run) is still built once; the session's sample
## run is built once for all workers (tests/conftest.py's sample_demo, under a file lock).
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadfile
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(XDIST)

## Unit, golden and rule tests only (no whole stages, no Airflow): the loop while coding.
## Their temporary files go to a RAM disk where there is one: they write a few thousand
## small files, each flushed to disk by the pipeline's atomic writes, which on a disk costs
## about as much as the tests' own work. Removed after a green run, kept after a red one.
FAST_TMP := $(if $(wildcard /dev/shm/.),/dev/shm/forensics-test-fast-$(shell printf %s "$(CURDIR)" | cksum | cut -d' ' -f1))
test-fast: $(STAMP)
	$(BIN)/pytest $(XDIST) tests/unit tests/golden tests/rules $(if $(FAST_TMP),--basetemp=$(FAST_TMP) && rm -rf $(FAST_TMP))

## The cluster tier (not in make test; .ci/run runs it after make test): starts the
## cluster of cluster-up in a temporary folder with an S3 server, runs rerun_range over a
## simulated week on its two workers, compares the bytes with forensics run, and stops
## it. About 3 minutes.
test-cluster: $(STAMP)
	$(BIN)/pytest tests/cluster --cluster -rP

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

## Benchmarks (not part of the tests): figures go to docs/benchmarks.md; exits non-zero
## when a measured ratio misses its target (python -m bench.run --only SECTION ... picks some).
bench: $(STAMP)
	$(BIN)/python -m bench.run

## Accuracy on fresh randomized scenarios: SWEEP seeds drawn from the clock, into EVAL/
## (sweep.md, sweep.json, one folder per seed). About 1 to 3 minutes a seed.
SWEEP ?= 20
EVAL ?= eval
eval: $(STAMP)
	$(BIN)/forensics evaluate --sweep $(SWEEP) --out $(EVAL)

## A multi-worker Airflow on this machine (CeleryExecutor, PostgreSQL, Redis, api-server,
## scheduler, dag-processor, two Celery workers; state in .cluster/ or CLUSTER_DIR):
## cluster/cluster.sh, and the README's "Running on several workers (Celery)".
cluster-up: $(STAMP)
	VENV_BIN=$(CURDIR)/$(BIN) cluster/cluster.sh up

cluster-down:
	VENV_BIN=$(CURDIR)/$(BIN) cluster/cluster.sh down

cluster-status:
	VENV_BIN=$(CURDIR)/$(BIN) cluster/cluster.sh status

## Re-resolve the lock after changing dependencies in pyproject.toml (needs uv).
lock:
	uv pip compile pyproject.toml --group dev --extra cluster --python-version 3.11 --universal \
		--generate-hashes --quiet -o requirements.lock

clean:
	rm -rf $(VENV) $(OUT)
