# Quick start: `make demo` and `make test` work on a fresh machine with only Python 3.11 and pip.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deepcause-installed

.PHONY: install demo test lint bench-env clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch first, so nothing below pulls a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[all]"
	# the Darfur data of Cinelli & Hazlett (2020) for the sensitivity tests (data only: --no-deps)
	$(PY) -m pip install -q --no-deps pysensemakr==0.0.8
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/deepcause demo

test: install
	# headless Chromium for the report's browser test (tests/test_report.py skips it without one)
	command -v chromium >/dev/null 2>&1 || (DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium could not be installed (not root?): the report's browser test will be skipped"
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m pytest -q -n 2 src tests

lint: install
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m ruff format --check src tests benchmarks examples

# the peer environment for benchmarks/: deepcause with every extra plus the pinned peers
BENCH_VENV ?= .bench-venv
BENCH_STAMP := $(BENCH_VENV)/.deepcause-bench-installed

$(BENCH_STAMP): pyproject.toml benchmarks/requirements-peers.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q torch==2.13.0
	$(BENCH_VENV)/bin/python -m pip install -q -e ".[all]" -r benchmarks/requirements-peers.txt
	touch $(BENCH_STAMP)

bench-env: $(BENCH_STAMP)

clean:
	rm -rf $(BENCH_VENV) $(VENV) build dist src/*.egg-info .pytest_cache
