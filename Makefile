# Entry points for a new user (see README):
#   make demo      -- set up .venv and run the main job on the default small market
#   make test      -- set up .venv and run the test suite (slow tests excluded)
#   make workshop  -- set up .venv and start the classroom page on http://localhost:8501
#                     (HOST=0.0.0.0 serves a room; PORT=... another port)
#   make paper     -- set up .venv and build paper/paper.pdf from the committed results
#                     (RESULTS=results/tiny builds it from the tiny tables; CALIBRATION=...)
PY ?= python3
HOST ?= 127.0.0.1
PORT ?= 8501
RESULTS ?= results
CALIBRATION ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup browser demo test test-slow lint bench workshop paper clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,workshop]'
	touch $(STAMP)

# The browser test drives Debian's chromium (never a downloaded browser): installed here
# where it is missing and we are root on a Debian-like system, else a clear message.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends chromium; \
	  else \
	    echo "chromium is missing: 'sudo apt-get install chromium' (needed by the browser test)"; \
	  fi; \
	fi

setup: $(STAMP) browser

demo: $(STAMP)
	$(BIN)/python -m experiments.compare

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check sim experiments tests
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m experiments.bench

workshop: $(STAMP)
	$(BIN)/python -m experiments.workshop --host $(HOST) --port $(PORT)

# Remakes only the numbers, tables and figures whose inputs or producers changed
# (paper/manifest.yaml, stamps in paper/generated/stamp.json); never writes into results/.
paper: $(STAMP)
	$(BIN)/python -m experiments.paper --results $(RESULTS) $(if $(CALIBRATION),--calibration $(CALIBRATION))

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache .mypy_cache .ruff_cache
