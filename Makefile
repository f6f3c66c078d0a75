# Two set-up commands: `make demo` and `make test`. Everything they need is installed from here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CASES ?= 20000
DEMO_SEED ?= 7
DEMO_AS_OF ?= 2026-11-01
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test test-fast lint typecheck bench bench-scale pg-start pg-stop clean chromium

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "installing python3-venv (Debian)"; apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; \
	  $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,dask]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cutover generate --cases $(DEMO_CASES) --seed $(DEMO_SEED) --as-of $(DEMO_AS_OF) \
	  --manifest data/manifest.json --replace
	$(BIN)/cutover init-target
	$(BIN)/cutover plan --as-of $(DEMO_AS_OF)
	$(BIN)/cutover run --all --as-of $(DEMO_AS_OF)
	$(BIN)/cutover reconcile
	$(BIN)/cutover report --out data/reports
	rm -rf data/evidence-pack
	$(BIN)/cutover audit export --out data/evidence-pack
	$(BIN)/cutover audit verify --pack data/evidence-pack
	@echo
	@echo "Legacy database (CID):   data/legacy.db        (injected defects: data/manifest.json)"
	@echo "Target database (Atlas): data/target.db"
	@echo "Reports for operations:  data/reports/index.html  (a page and a worklist CSV per wave)"
	@echo "Evidence pack (BagIt):   data/evidence-pack    (cutover audit verify --pack data/evidence-pack)"
	@echo "Ledger checkpoints:      data/checkpoints/       (signing key: data/keys/ledger-ed25519.pem)"

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser test drives Debian's Chromium (no browser download): install it when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then echo "installing Debian's chromium for the browser test"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "make test: chromium is missing and installing it needs root" >&2; exit 1; fi; }

test: $(STAMP) chromium
	@url=$$(scripts/pg.sh start) || { echo "make test: PostgreSQL could not be started (see above)"; exit 1; }; \
	  echo "PostgreSQL for the tests: $$url"; \
	  $(BIN)/ruff check . && $(BIN)/mypy && \
	  CUTOVER_TEST_PG_URL=$$url $(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); \
	  status=$$?; scripts/pg.sh stop; exit $$status

# The fast tier while working: every test but those marked e2e (a generated CID and whole
# migrations, or real Prefect flows), on SQLite and PostgreSQL.
test-fast: $(STAMP)
	@url=$$(scripts/pg.sh start) || { echo "make test-fast: PostgreSQL could not be started (see above)"; exit 1; }; \
	  CUTOVER_TEST_PG_URL=$$url $(BIN)/python -m pytest -q -p no:cacheprovider -m "not e2e" -n 2 $(PYTEST_ARGS); \
	  status=$$?; scripts/pg.sh stop; exit $$status

bench: $(STAMP)
	@url=$$(scripts/pg.sh start) && $(BIN)/python bench/run.py --pg-url $$url $(BENCH_ARGS)

# floor (raw COPY) vs `cutover run --all` vs `cutover reconcile`, and the write floor; BENCH_ARGS="--cases 100000 1000000".
# The cluster restarts with a cache that holds a 1,000,000-case CID and target (docs/benchmarks.md).
# The figures table of docs/benchmarks.md is rewritten with the figures of the run.
BENCH_PG_SHARED_BUFFERS ?= 4GB
bench-scale: $(STAMP)
	@scripts/pg.sh stop; url=$$(CUTOVER_PG_SHARED_BUFFERS=$(BENCH_PG_SHARED_BUFFERS) scripts/pg.sh start) \
	  && $(BIN)/python bench/scale.py --pg-url $$url --page docs/benchmarks.md $(BENCH_ARGS)

pg-start:
	@scripts/pg.sh start
pg-stop:
	@scripts/pg.sh stop

clean:
	rm -rf data .pytest_cache .ruff_cache .mypy_cache
