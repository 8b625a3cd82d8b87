"""fence_xenha_ilo (method=ribcl, python-hpilo) against the lab iLO speaking RIBCL over TLS,
cross-checked with fence-agents' fence_ilo on the same endpoint."""

import subprocess

import pytest

from tests.agents.fence import run_agent, run_watching_ps
from xenha.lab.power import testing


@pytest.fixture
def agent(fence_agents):
    return fence_agents["fence_xenha_ilo"]


@pytest.fixture(scope="module")
def ilo(rack):
    with testing.ribcl_ilo(rack, "node1") as ilo:
        yield ilo


def options(ilo, action, **extra):
    opts = {
        "action": action,
        "ip": "127.0.0.1",
        "ipport": ilo.port,
        "username": ilo.user,
        "password_file": ilo.password_file,
        "ssl_ca_file": ilo.ca_file,
    }
    opts.update(extra)
    return opts


def fence_ilo(ilo, action):
    stdin = "ip=127.0.0.1\nipport=%d\nusername=%s\npassword=%s\nssl_insecure=1\naction=%s\n" % (
        ilo.port,
        ilo.user,
        ilo.password,
        action,
    )
    return subprocess.run(
        ["fence_ilo"],
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    )


def test_ribcl_is_the_default_and_works(agent, ilo):
    r = run_agent(agent, options(ilo, "status"))
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr
    assert run_agent(agent, options(ilo, "off")).returncode == 0
    assert ilo.power == "off"
    assert run_agent(agent, options(ilo, "status")).returncode == 2
    assert run_agent(agent, options(ilo, "reboot")).returncode == 0
    assert ilo.power == "on"


def test_fence_ilo_agrees(agent, ilo):
    assert run_agent(agent, options(ilo, "off")).returncode == 0
    r = fence_ilo(ilo, "status")
    assert (r.returncode, r.stdout.strip()) == (2, "Status: OFF"), r.stderr
    assert fence_ilo(ilo, "on").returncode == 0
    assert run_agent(agent, options(ilo, "status")).stdout.strip() == "Status: ON"
    assert fence_ilo(ilo, "off").returncode == 0
    assert run_agent(agent, options(ilo, "status")).returncode == 2


def test_failures_never_succeed(agent, ilo, tmp_path):
    opts = options(ilo, "off")
    del opts["ssl_ca_file"]
    r = run_agent(agent, opts)
    assert r.returncode == 1 and "certificate not trusted" in r.stderr
    wrong = testing.secret_file(str(tmp_path), "wrong")
    r = run_agent(agent, options(ilo, "off", password_file=wrong))
    assert r.returncode == 1 and "refused the login for user 'Administrator'" in r.stderr
    port = testing.free_port(testing.socket.SOCK_STREAM)
    r = run_agent(agent, options(ilo, "off", ipport=port, login_timeout=1))
    assert r.returncode == 1 and r.stdout == ""
    ilo.rack.configure("machines", "node1", stuck=True)
    r = run_agent(agent, options(ilo, "off", power_timeout=1))
    assert r.returncode == 1 and "not read back OFF" in r.stderr
    assert ilo.power == "on"


def test_password_never_in_ps(agent, ilo):
    ilo.rack.configure("machines", "node1", delay=0.5)
    opts = options(ilo, "off", password=ilo.password, verbose=1)
    del opts["password_file"]
    r = run_watching_ps(agent, opts, ilo.password)
    assert r.returncode == 0, r.stderr


def test_one_tls_policy_bad_ca_file_and_logged_insecure(agent, ilo, tmp_path):
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    r = run_agent(agent, options(ilo, "status", ssl_ca_file=str(garbage)))
    assert r.returncode == 1 and "cannot load CA file %s" % garbage in r.stderr, r.stderr
    opts = options(ilo, "status", ssl_insecure=1)
    del opts["ssl_ca_file"]
    r = run_agent(agent, opts)
    assert r.returncode == 0, r.stderr
    assert "TLS certificate verification of iLO 127.0.0.1:%d is disabled" % ilo.port in r.stderr
