# `make demo` and `make test` set up everything they need (Debian packages, a
# virtualenv in .venv with xenha and its test dependencies) and are safe to re-run.

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
	corosync-qnetd corosync-qdevice ipmitool snmp snmpd openssh-server openssh-client gnutls-bin

.PHONY: setup deps venv test lint demo clean

setup: deps venv

deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
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

test: setup
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The main job: a real 3-host cluster on this machine, the pool master's power cut,
# the recovery timeline and the verdict; the lab is removed afterwards.
demo: setup
	$(VENV)/bin/xenha lab demo

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
