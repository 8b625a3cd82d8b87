"""method=redfish of fence_xenha_ilo/drac/irmc against the lab Redfish service (HTTPS),
cross-checked with fence-agents' fence_redfish on the same service."""

import subprocess

import pytest

from tests.agents.fence import run_agent, run_watching_ps
from xenha.lab.power import testing


@pytest.fixture(scope="module")
def bmc(rack):
    with testing.redfish_bmc(rack, "node1") as bmc:
        yield bmc


def options(bmc, action, **extra):
    opts = {
        "action": action,
        "method": "redfish",
        "ip": "127.0.0.1",
        "ipport": bmc.port,
        "username": bmc.user,
        "password_file": bmc.password_file,
        "ssl_ca_file": bmc.ca_file,
    }
    opts.update(extra)
    return opts


def fence_redfish(bmc, action):
    stdin = "ip=127.0.0.1\nipport=%d\nusername=%s\npassword=%s\nssl_insecure=1\naction=%s\n" % (
        bmc.port,
        bmc.user,
        bmc.password,
        action,
    )
    return subprocess.run(
        ["fence_redfish"],
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    )


@pytest.mark.parametrize("name", ["fence_xenha_ilo", "fence_xenha_drac", "fence_xenha_irmc"])
def test_status_off_on(fence_agents, bmc, name):
    agent = fence_agents[name]
    r = run_agent(agent, options(bmc, "status"))
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr
    assert run_agent(agent, options(bmc, "off")).returncode == 0
    assert bmc.power == "off"
    assert run_agent(agent, options(bmc, "status")).returncode == 2
    assert run_agent(agent, options(bmc, "on", systems_uri="/redfish/v1/Systems/1")).returncode == 0
    assert bmc.power == "on"


def test_fence_redfish_sees_what_our_agent_did(fence_agents, bmc):
    agent = fence_agents["fence_xenha_ilo"]
    assert run_agent(agent, options(bmc, "off")).returncode == 0
    r = fence_redfish(bmc, "status")
    assert (r.returncode, r.stdout.strip()) == (2, "Status: OFF"), r.stderr
    assert fence_redfish(bmc, "on").returncode == 0
    assert run_agent(agent, options(bmc, "status")).stdout.strip() == "Status: ON"
    assert fence_redfish(bmc, "off").returncode == 0
    assert run_agent(agent, options(bmc, "status")).returncode == 2


def test_certificate_is_verified(fence_agents, bmc):
    opts = options(bmc, "off")
    del opts["ssl_ca_file"]
    r = run_agent(fence_agents["fence_xenha_ilo"], opts)
    assert r.returncode == 1 and "certificate not trusted" in r.stderr
    assert bmc.power == "on"
    assert run_agent(fence_agents["fence_xenha_ilo"], dict(opts, ssl_insecure=1)).returncode == 0


def test_failures_never_succeed(fence_agents, bmc, tmp_path):
    agent = fence_agents["fence_xenha_irmc"]
    wrong = testing.secret_file(str(tmp_path), "wrong")
    r = run_agent(agent, options(bmc, "off", password_file=wrong))
    assert r.returncode == 1 and "refused the login for user 'admin' (HTTP 401)" in r.stderr
    r = run_agent(agent, options(bmc, "off", systems_uri="/redfish/v1/Systems/9"))
    assert r.returncode == 1 and "answered HTTP 404" in r.stderr
    port = testing.free_port(testing.socket.SOCK_STREAM)
    r = run_agent(agent, options(bmc, "off", ipport=port, login_timeout=1))
    assert r.returncode == 1 and "Connection refused" in r.stderr
    bmc.rack.configure("machines", "node1", stuck=True)
    r = run_agent(agent, options(bmc, "off", power_timeout=1))
    assert r.returncode == 1 and "not read back OFF" in r.stderr
    assert bmc.power == "on"


def test_password_never_in_ps(fence_agents, bmc):
    bmc.rack.configure("machines", "node1", delay=0.5)
    opts = options(bmc, "off", password=bmc.password, verbose=1)
    del opts["password_file"]
    r = run_watching_ps(fence_agents["fence_xenha_drac"], opts, bmc.password)
    assert r.returncode == 0, r.stderr


def test_one_tls_policy_bad_ca_file_and_logged_insecure(fence_agents, bmc, tmp_path):
    agent = fence_agents["fence_xenha_drac"]
    r = run_agent(agent, options(bmc, "status", ssl_ca_file=str(tmp_path / "missing.pem")))
    assert r.returncode == 1 and "cannot load CA file %s" % (tmp_path / "missing.pem") in r.stderr
    opts = options(bmc, "status", ssl_insecure=1)
    del opts["ssl_ca_file"]
    r = run_agent(agent, opts)
    assert r.returncode == 0, r.stderr
    assert "verification of Redfish https://127.0.0.1:%d is disabled" % bmc.port in r.stderr
