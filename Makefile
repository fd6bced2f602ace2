# Two commands on a fresh machine: `make run` (gateway with demo data) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR ?= var/demo

.PHONY: run test install check-menus clean bench-hop

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ussd-gateway demo --data-dir $(DEMO_DIR) --host 127.0.0.1 --port 8080

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

check-menus: $(STAMP)
	$(BIN)/ussd-gateway menus check

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

bench-hop: $(STAMP)
	$(BIN)/python -m bench.hop_cost --cycles 300
