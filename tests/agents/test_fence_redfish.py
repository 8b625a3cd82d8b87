"""method=redfish logs in with a Redfish session and always logs out: after every action,
failed ones included, the lab Redfish service holds no session of ours (BMCs hold a few;
a leaked one blocks the next login until it times out). The Basic fallback for a service
without sessions is run against sushy-tools (test_fence_sushy.py)."""

import pytest

from tests.agents.fence import login, run_agent
from xenha.lab.power import testing

AGENT = "fence_xenha_irmc"


@pytest.fixture(scope="module")
def bmc(rack):
    with testing.redfish_bmc(rack, "node1") as bmc:
        yield bmc


@pytest.fixture
def agent(fence_agents):
    return fence_agents[AGENT]


def run(agent, bmc, action, **extra):
    """Run ``action``; return its CompletedProcess and how many sessions it opened, having
    checked that none is left open."""
    _, before = testing.redfish_sessions(bmc)
    r = run_agent(agent, login(bmc, action, method="redfish", **extra))
    still_open, after = testing.redfish_sessions(bmc)
    assert still_open == 0, "%s left %d sessions open" % (action, still_open)
    return r, after - before


def test_every_action_is_one_session_logged_out(agent, bmc):
    steps = [("status", 0, "on"), ("off", 0, "off"), ("status", 2, "off"), ("on", 0, "on")]
    for action, rc, power in steps + [("reboot", 0, "on")]:
        r, opened = run(agent, bmc, action)
        assert (r.returncode, bmc.power, opened) == (rc, power, 1), (action, r.stderr)


def test_failed_actions_log_out_too(agent, bmc, tmp_path):
    bmc.rack.configure("machines", "node1", stuck=True)
    r, opened = run(agent, bmc, "off", power_timeout=1)
    assert r.returncode == 1 and "not read back OFF" in r.stderr and opened == 1
    r, opened = run(agent, bmc, "off", systems_uri="/redfish/v1/Systems/9")
    assert r.returncode == 1 and "answered HTTP 404" in r.stderr and opened == 1
    wrong = testing.secret_file(str(tmp_path), "wrong")
    r, opened = run(agent, bmc, "off", password_file=wrong)
    assert r.returncode == 1 and "refused the login for user 'admin' (HTTP 401)" in r.stderr
    assert opened == 0 and bmc.power == "on"
