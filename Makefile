# Two commands on a fresh machine: `make run` (gateway with demo data) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# One stamp per purpose: `run` installs what running needs, `test` adds the test extra.
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
DEMO_DIR ?= var/demo
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run reset-demo test install check-menus clean bench bench-hop bench-machine bench-profile bench-quick bench-quick-pg bench-backend

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The package and aiosmtpd, the demo's loopback SMTP server (it is in the test extra too).
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e . 'aiosmtpd>=1.4'
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(TEST_STAMP) $(RUN_STAMP)

install: $(TEST_STAMP)

# The demo sends SMS through Kannel's sendsms interface to ussd-smsc, a fake SMSC that
# prints every message it is given (and records it in $(DEMO_DIR)/smsc.jsonl).
# E-mails (temporary passwords) go to ussd-mailbox, a loopback SMTP server that prints them.
# The web handset (ussd-handset web) serves a phone in the browser on WEB_PORT, reading the
# SMS and the letters from those two over HTTP.
# The self-service menu *100# reads balances and orders services from ussd-billing, a
# billing simulator (records in $(DEMO_DIR)/billing.jsonl).
# `make run PORT=9090` moves the gateway (and the delivery-report URL it gives the SMSC);
# `make run RESET=1` (or `make reset-demo`) starts again from fresh demo data.
SMSC_PORT ?= 13013
SMTP_PORT ?= 8025
MAIL_PORT ?= 8026
WEB_PORT  ?= 8081
# The billing simulator: the back-end of the worked self-service menu *100#.
BILLING_PORT ?= 8090
run: $(RUN_STAMP)
	$(if $(RESET),rm -rf $(DEMO_DIR))
	mkdir -p $(DEMO_DIR)
	$(BIN)/ussd-smsc serve --port $(SMSC_PORT) --record $(DEMO_DIR)/smsc.jsonl & smsc=$$!; \
	$(BIN)/ussd-mailbox --smtp-port $(SMTP_PORT) --http-port $(MAIL_PORT) & smtp=$$!; \
	$(BIN)/ussd-billing serve --port $(BILLING_PORT) --record $(DEMO_DIR)/billing.jsonl & billing=$$!; \
	$(BIN)/ussd-handset web --port $(WEB_PORT) --gateway http://$(HOST):$(PORT) \
	    --smsc http://127.0.0.1:$(SMSC_PORT) --mailbox http://127.0.0.1:$(MAIL_PORT) \
	    --scripts-dir $(DEMO_DIR)/scripts & web=$$!; \
	trap 'kill $$smsc $$smtp $$billing $$web 2>/dev/null' EXIT INT TERM; \
	echo "Web handset for testers: http://127.0.0.1:$(WEB_PORT)/"; \
	USSD_GATEWAY_SMTP_PORT=$(SMTP_PORT) \
	USSD_GATEWAY_SMS_SENDER=kannel \
	USSD_GATEWAY_KANNEL_SENDSMS_URL=http://127.0.0.1:$(SMSC_PORT)/cgi-bin/sendsms \
	USSD_GATEWAY_KANNEL_USERNAME=tester USSD_GATEWAY_KANNEL_PASSWORD=testpw \
	USSD_GATEWAY_SMS_DLR_URL=http://$(HOST):$(PORT)/sms/dlr \
	$(BIN)/ussd-gateway demo --data-dir $(DEMO_DIR) --host $(HOST) --port $(PORT) \
	  --billing http://127.0.0.1:$(BILLING_PORT)

# The demo's database, pepper and SMS record, removed (the virtualenv stays).
reset-demo:
	rm -rf $(DEMO_DIR)

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

check-menus: $(RUN_STAMP)
	$(BIN)/ussd-gateway menus check

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

bench-hop: $(TEST_STAMP)
	$(BIN)/python -m bench.hop_cost --cycles 300

# The menu machine alone: µs per step on the loader's class and on ours (menus/machine.py).
bench-machine: $(TEST_STAMP)
	$(BIN)/python -m bench.machine_cost

# The gateway against the bare server under simulated handsets, one table (README: Performance).
BENCH_SECONDS ?= 20
bench: $(TEST_STAMP)
	BENCH_SECONDS=$(BENCH_SECONDS) $(BIN)/python -m bench.run

# Where a loaded gateway's time goes: py-spy samples it under 50 handsets (needs the bench extra).
bench-profile: $(TEST_STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.profile

# The gateway alone at 50 and 200 handsets: run before and after an optimisation.
# What a menu's back-end call adds to a hop: *100# (one call to ussd-billing) against
# *141*3*6# (none), one client, real processes.
bench-backend: $(TEST_STAMP)
	$(BIN)/python -m bench.backend_cost --rounds 300

bench-quick: $(TEST_STAMP)
	$(BIN)/python -m bench.quick --seconds 8 --workers $(or $(BENCH_WORKERS),1)

# The same on PostgreSQL (a scratch database on USSD_TEST_PG or 127.0.0.1:5432), one and two
# instances: hops/s, p99, CPU µs per hop of the gateway and the server, round trips per hop.
bench-quick-pg: $(TEST_STAMP)
	$(BIN)/python -m bench.quick --seconds 8 --database postgres
	$(BIN)/python -m bench.quick --seconds 8 --database postgres --instances 2
