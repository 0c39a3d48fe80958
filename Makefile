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

.PHONY: run test soak invoke outbox user clock bench package resources deps clean join-page no-npm

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

# The join page's script (issue 14): amazon-chime-sdk-js bundled by esbuild, both pinned by
# web/join/package-lock.json (`npm ci`). Built into chalicelib/assets/ (not committed), so the app
# serves it and `chalice package` zips it; rebuilt when the lockfile or the page's source changes.
JOIN_DIR := web/join
JOIN_JS := chalicelib/assets/join.js
JOIN_MODULES := $(JOIN_DIR)/node_modules/.installed

$(JOIN_MODULES): $(JOIN_DIR)/package.json $(JOIN_DIR)/package-lock.json
	cd $(JOIN_DIR) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

$(JOIN_JS): $(JOIN_MODULES) $(JOIN_DIR)/join.js $(JOIN_DIR)/no-messaging.js
	@mkdir -p $(dir $@)
	$(JOIN_DIR)/node_modules/.bin/esbuild $(JOIN_DIR)/join.js --bundle --minify --format=iife --target=es2019 \
		--define:global=globalThis --log-level=warning --alias:@aws-sdk/client-chime-sdk-messaging=./$(JOIN_DIR)/no-messaging.js \
		--outfile=$@

join-page: $(JOIN_JS)

# Without npm (Node.js) the stack still runs: the join page says its script is missing (503) and
# the join page's tests fail; `.ci/setup` installs npm. Everything else needs no Node.js.
NPM := $(shell command -v npm)
JOIN_PAGE := $(if $(NPM),$(JOIN_JS),no-npm)
no-npm:
	@echo "warning: npm not found: the join page's script (chalicelib/assets/join.js) is not built;" \
		"install Node.js/npm (Debian: apt-get install npm) and run make join-page" >&2

deps: $(STAMP) $(TOOLS_STAMP) $(JOIN_PAGE)

run: $(STAMP) $(JOIN_PAGE)
	$(PY) -m infra.local

test: $(STAMP) $(TOOLS_STAMP) $(JOIN_PAGE)
	$(PY) -m pytest -q -n 2 --dist worksteal tests

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

package: $(STAMP) $(JOIN_JS)
	$(PY) -m infra.resources --check
	rm -rf $(PACKAGE_DIR)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --stage $(STAGE) \
		--merge-template infra/resources.json $(PACKAGE_DIR)
	$(PY) -m infra.package $(PACKAGE_DIR)/deployment.zip
	$(VENV)/bin/cfn-lint $(PACKAGE_DIR)/sam.json
	@echo "template: $(PACKAGE_DIR)/sam.json  code: $(PACKAGE_DIR)/deployment.zip"

clean:
	rm -rf build .local .pytest_cache $(JOIN_JS)
