"""IPMI with device emulators and clients other projects wrote: our fence agent drives
OpenIPMI's BMC simulator ``ipmi_sim`` (whose RMCP+ offers no SHA-256, so pyghmi falls
back to cipher suite 3), and FreeIPMI's ``ipmipower`` drives our lab BMC with either of
the cipher suites it offers."""

import os

import pytest

from tests.agents.fence import ipmitool, login, run_agent, run_client
from xenha.lab.power import testing

SUITE_3 = "connected: IPMI 2.0 cipher suite 3 (RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128)"


@pytest.fixture(scope="module")
def sim(rack):
    with testing.ipmi_sim(rack, "node1") as sim:
        yield sim


@pytest.fixture(scope="module")
def bmc(rack):
    with testing.ipmi_bmc(rack, "node1") as bmc:
        yield bmc


def options(device, action, **extra):
    return login(device, action, **{"method": "ipmi", **extra})


def test_our_agent_fences_through_ipmi_sim(fence_agents, sim):
    agent = fence_agents["fence_xenha_ilo"]
    r = run_agent(agent, options(sim, "status", verbose=1))
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr
    assert SUITE_3 in r.stderr
    r = run_agent(agent, options(sim, "off", verbose=1))
    assert r.returncode == 0, r.stderr
    assert "read back OFF" in r.stderr
    assert sim.power == "off"
    assert "Chassis Power is off" in ipmitool(sim, "-C", "3", "chassis", "power", "status").stdout
    r = run_agent(agent, options(sim, "status"))
    assert (r.returncode, r.stdout.strip()) == (2, "Status: OFF"), r.stderr
    r = run_agent(agent, options(sim, "on"))
    assert r.returncode == 0 and sim.power == "on", r.stderr


def test_our_agent_reboots_through_ipmi_sim(fence_agents, sim):
    r = run_agent(fence_agents["fence_xenha_drac"], options(sim, "reboot", verbose=1))
    assert r.returncode == 0, r.stderr
    assert "read back OFF" in r.stderr and "read back ON" in r.stderr
    assert sim.power == "on"


def test_ipmi_sim_stuck_on_is_a_failure(fence_agents, sim):
    sim.rack.configure("machines", "node1", stuck=True)
    r = run_agent(fence_agents["fence_xenha_irmc"], options(sim, "off", power_timeout=1))
    assert r.returncode == 1
    assert "not read back OFF within power_timeout=1s" in r.stderr


def test_ipmi_sim_refuses_a_wrong_password(fence_agents, sim, tmp_path):
    pw = testing.secret_file(str(tmp_path), "not-the-password", "wrong")
    r = run_agent(fence_agents["fence_xenha_ilo"], options(sim, "off", password_file=pw))
    assert r.returncode == 1
    assert "refused the login for user 'admin'" in r.stderr
    assert sim.power == "on"


def ipmipower(bmc, *args):
    """FreeIPMI's ipmipower over IPMI 2.0; the login in a config file (freeipmi.conf(5)),
    not on the command line."""
    conf = os.path.join(os.path.dirname(bmc.password_file), "freeipmi.conf")
    with open(conf, "w") as f:
        f.write("username %s\npassword %s\n" % (bmc.user, bmc.password))
    argv = ["ipmipower", "-D", "LAN_2_0", "-h", "127.0.0.1:%d" % bmc.port, "--config-file", conf]
    return run_client(argv + list(args))


@pytest.mark.parametrize("suite", ["17", "3"])
def test_ipmipower_drives_our_lab_bmc(bmc, suite):
    r = ipmipower(bmc, "-I", suite, "--stat")
    assert r.stdout.strip() == "127.0.0.1: on", r.stdout
    r = ipmipower(bmc, "-I", suite, "--off")
    assert (r.returncode, r.stdout.strip()) == (0, "127.0.0.1: ok"), r.stdout
    assert bmc.power == "off"
    assert ipmipower(bmc, "-I", suite, "--stat").stdout.strip() == "127.0.0.1: off"
    r = ipmipower(bmc, "-I", suite, "--on")
    assert (r.returncode, r.stdout.strip()) == (0, "127.0.0.1: ok"), r.stdout
    assert bmc.power == "on"


def test_ipmipower_wrong_password_is_refused(bmc, tmp_path):
    wrong = testing.Bmc(
        bmc.rack,
        bmc.machine,
        bmc.port,
        bmc.user,
        "not-the-password",
        testing.secret_file(str(tmp_path), "not-the-password"),
    )
    r = ipmipower(wrong, "-I", "17", "--off")
    assert "password invalid" in r.stdout, r.stdout
    assert bmc.power == "on"
