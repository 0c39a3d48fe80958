# Haven: one-command local stack, tests, packaging. See README "Running locally" and "Deploying".
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-stamp
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.deps-stamp
STAGE ?= prod
PACKAGE_DIR ?= build/package
FN ?=
TIME ?=
ROLE ?=
EMAIL ?=
PASSWORD ?=
NAME ?=

.PHONY: run test soak invoke outbox user clock bench package resources deps clean

# The virtualenv is (re)installed only when a requirements file changed since the last install.
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Haven needs Python 3.11 (set PYTHON=...)")'
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $(STAMP)

# checkov (template checks in tests/infra) pins boto3 and networkx older than the app's: its own venv.
$(TOOLS_STAMP): requirements-tools.txt constraints-tools.txt
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --disable-pip-version-check -r requirements-tools.txt -c constraints-tools.txt
	@touch $(TOOLS_STAMP)

deps: $(STAMP) $(TOOLS_STAMP)

run: $(STAMP)
	$(PY) -m infra.local

test: $(STAMP) $(TOOLS_STAMP)
	$(PY) -m pytest -q -n 2 tests

# A simulated week under faults (issue 9): 50 and 200 clients; prints the promises table. CLIENTS="50" for one size.
soak: $(STAMP)
	$(PY) -m tests.faults.soak $(if $(CLIENTS),--clients $(CLIENTS)) $(if $(DAYS),--days $(DAYS))

invoke: $(STAMP)
	@test -n "$(FN)" || { echo "usage: make invoke FN=<reminders|deadlines|discharges> [TIME=2026-11-23T09:00:00Z], or FN=meeting_events EVENT=events/chime_attendee_joined.json SET='externalMeetingId=bk_... externalUserId=...'"; exit 2; }
	@$(PY) -m infra.invoke $(FN) $(if $(TIME),--time $(TIME)) $(if $(EVENT),--event $(EVENT)) $(foreach s,$(SET),--set $(s))

outbox: $(STAMP)
	@$(PY) -m infra.outbox

# A user of the running stack, for any role, with a permanent password; prints an ID token (again on a rerun).
user: $(STAMP)
	@test -n "$(ROLE)" -a -n "$(EMAIL)" || { echo "usage: make user ROLE=client|provider|ops EMAIL=you@example.com [PASSWORD=...] [NAME=...]"; exit 2; }
	@$(PY) -m infra.user "$(ROLE)" "$(EMAIL)" $(if $(PASSWORD),--password "$(PASSWORD)") $(if $(NAME),--name "$(NAME)") \
		$(if $(REGION),--region "$(REGION)") $(if $(TIMEZONE),--timezone "$(TIMEZONE)") $(if $(KIND),--kind "$(KIND)") \
		$(if $(JSON),--json)

# Moves the running stack's clock (API and schedules; local stage only). TIME=<iso>|+3d|now; no TIME: show it.
clock: $(STAMP)
	@$(PY) -m infra.clock $(if $(TIME),-- "$(TIME)")

bench: $(STAMP)
	$(PY) -m tests.bench

# Regenerate infra/resources.json after changing models, schedules or infra/resources.py.
resources: $(STAMP)
	$(PY) -m infra.resources

package: $(STAMP)
	$(PY) -m infra.resources --check
	rm -rf $(PACKAGE_DIR)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --stage $(STAGE) \
		--merge-template infra/resources.json $(PACKAGE_DIR)
	$(PY) -m infra.package $(PACKAGE_DIR)/deployment.zip
	$(VENV)/bin/cfn-lint $(PACKAGE_DIR)/sam.json
	@echo "template: $(PACKAGE_DIR)/sam.json  code: $(PACKAGE_DIR)/deployment.zip"

clean:
	rm -rf build .local .pytest_cache
