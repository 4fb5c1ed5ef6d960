# `make run` and `make test` set everything up themselves on a fresh machine.
PYTHON_VERSION := $(shell cat .python-version)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
APP_STAMP := $(VENV)/.installed-app
ARGS ?=
APP_PORT ?= 8765
APP_HOST ?= 127.0.0.1
APP_ALLOWED_HOSTS ?=

.PHONY: run test lint fuzz bench clean app

# pyenv reads .python-version; without pyenv, any python3.12 on PATH will do.
$(PY):
	@PY312=$$( (command -v pyenv >/dev/null 2>&1 && V=$$(pyenv latest $(PYTHON_VERSION) 2>/dev/null) \
	            && PYENV_VERSION=$$V pyenv which python 2>/dev/null) \
	          || command -v python$(PYTHON_VERSION) || true); \
	  if [ -z "$$PY312" ]; then echo "Python $(PYTHON_VERSION) not found (pyenv install $(PYTHON_VERSION))"; exit 1; fi; \
	  echo "creating $(VENV) with $$PY312"; \
	  $$PY312 -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e .
	touch $@

$(DEV_STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e ".[dev]"
	touch $@ $(STAMP) $(APP_STAMP)

$(APP_STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e ".[app]"
	touch $@ $(STAMP)

run: $(STAMP)
	$(PY) -m sim $(ARGS)

# The analyst's web page on http://$(APP_HOST):$(APP_PORT) (make app APP_PORT=9000); this machine
# only, unless APP_HOST=0.0.0.0 APP_ALLOWED_HOSTS=server.example.org (docs/safety.md).
app: $(APP_STAMP)
	SOLARA_TELEMETRY_MIXPANEL_ENABLE=False APP_ALLOWED_HOSTS=$(APP_ALLOWED_HOSTS) \
	  $(PY) -m app.serve --host $(APP_HOST) --port $(APP_PORT) --production --no-open \
	  --no-check-version

test: $(DEV_STAMP)
	$(PY) -m pytest -q $(ARGS)

# A long property-based search (tests/test_fuzz.py); HYPOTHESIS_MAX_EXAMPLES per test.
fuzz: $(DEV_STAMP)
	HYPOTHESIS_PROFILE=long $(PY) -m pytest -q tests/test_fuzz.py --hypothesis-show-statistics $(ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .

# Time and memory of the model, its scaling, Flee and plain Mesa side by side, and this tree
# against git revision main (BENCH_BASELINE=REF) at full and calibration scale (~25 min on 2
# cores). Repeats: ARGS="--repeats-full 1 --repeats-cal 5", or --quick for a smoke test.
bench: $(DEV_STAMP)
	$(PY) benchmarks/run.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
