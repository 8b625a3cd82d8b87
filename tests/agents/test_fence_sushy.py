"""method=redfish against OpenStack's Redfish emulator, sushy-tools (its fake driver): a
Redfish service that is not ours, with no SessionService - the backend falls back to HTTP
Basic - and power actions that take effect seconds later. Every state is read back through
the emulator's own API."""

import pytest

from tests.agents.fence import login, run_agent
from xenha.lab.power import testing

# The fake driver applies a power action 1-11 s after it: poll well past that.
SLOW = {"method": "redfish", "power_timeout": 40}
AGENT = "fence_xenha_drac"


@pytest.fixture(scope="module")
def sushy():
    with testing.sushy_emulator() as sushy:
        yield sushy


def test_status_off_on_reboot(fence_agents, sushy):
    root = testing.redfish_get(sushy, "/redfish/v1/")
    assert "SessionService" not in root and "Sessions" not in root.get("Links", {})  # Basic
    agent = fence_agents[AGENT]
    r = run_agent(agent, login(sushy, "status", **SLOW))
    assert (r.returncode, r.stdout.strip(), sushy.power) == (0, "Status: ON", "on"), r.stderr
    r = run_agent(agent, login(sushy, "off", **SLOW))
    assert (r.returncode, sushy.power) == (0, "off"), r.stderr
    r = run_agent(agent, login(sushy, "status", **SLOW))
    assert (r.returncode, r.stdout.strip()) == (2, "Status: OFF"), r.stderr
    r = run_agent(agent, login(sushy, "on", systems_uri=sushy.system, **SLOW))
    assert (r.returncode, sushy.power) == (0, "on"), r.stderr
    r = run_agent(agent, login(sushy, "reboot", **SLOW), timeout=120)
    assert (r.returncode, sushy.power) == (0, "on"), r.stderr


def test_a_refused_login_fails(fence_agents, sushy, tmp_path):
    wrong = testing.secret_file(str(tmp_path), "wrong")
    r = run_agent(fence_agents[AGENT], login(sushy, "off", password_file=wrong, **SLOW))
    assert r.returncode == 1 and "refused the login for user 'admin' (HTTP 401)" in r.stderr
    assert sushy.power == "on"
