# `make demo` and `make test` set up everything they need (Debian packages, a
# virtualenv in .venv with xenha and its test dependencies, the npm packages of
# tests/xapi_js) and are safe to re-run.

SHELL := /bin/bash
# Debian's Python, not a per-user one: Pacemaker runs agents' meta-data as the
# hacluster user, who must be able to execute the interpreter the agents use.
PYTHON ?= /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.xenha-installed

# What the agents, the tests and the lab run against: the real cluster stack.
APT_PACKAGES := python3-venv pacemaker pacemaker-cli-utils corosync crmsh resource-agents \
	fence-agents cluster-glue libxml2-utils iproute2 procps util-linux openssl \
	corosync-qnetd corosync-qdevice ipmitool openipmi freeipmi-tools snmp snmpd openssh-server \
	openssh-client gnutls-bin nodejs pcs tmux zsh systemd-journal-remote rpm debootstrap

# Xen Orchestra's XAPI client (npm xen-api), which the simulator is checked against
# (tests/unit/test_xapi_js.py), pinned by its package-lock.json.
XAPI_JS := tests/xapi_js
XAPI_JS_STAMP := $(XAPI_JS)/node_modules/.xenha-installed

.PHONY: setup deps venv js test lint demo rpm clean

setup: deps venv js

# npm is asked for as a command, not as a package: Debian 12's nodejs comes without it
# (Debian's npm package brings it), while a Node.js from elsewhere, such as
# NodeSource's, bundles its own npm and conflicts with Debian's.
deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done; command -v npm >/dev/null || echo npm); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

js: $(XAPI_JS_STAMP)

$(XAPI_JS_STAMP): $(XAPI_JS)/package.json $(XAPI_JS)/package-lock.json
	npm ci --prefix $(XAPI_JS) --no-audit --no-fund --loglevel=error
	touch $@

# Two passes. The tests that mostly wait (on agents, simulators and their time-outs) run
# side by side on four workers; then the lab's end-to-end tests run alone, one lab at a
# time on an otherwise idle machine, since their cluster's timing is real.
# The lab's pass runs even when the first fails, so that one run shows every failure.
test: setup
	rc=0; \
	$(PY) -m pytest -n 4 --dist loadgroup --ignore=tests/lab || rc=$$?; \
	$(PY) -m pytest tests/lab || rc=$$?; \
	exit $$rc

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The main job: a real 3-host cluster on this machine, the pool master's power cut,
# the recovery timeline and the verdict; the lab is removed afterwards.
demo: setup
	$(VENV)/bin/xenha lab demo

# The dom0 package (packaging/xenha.spec): el7 by default; see the README for el10.
rpm: deps
	packaging/build-rpm dist

clean:
	rm -rf dist $(VENV) build *.egg-info .pytest_cache .ruff_cache $(XAPI_JS)/node_modules
