"""fence_xenha_ilo/drac/irmc (method=ipmi) against the lab IPMI BMC, cross-checked with
ipmitool and fence-agents' fence_ipmilan on the same server."""

import os
import stat
import time

import pytest

from tests.agents.fence import ipmitool, login, run_agent, run_watching_ps, upstream
from xenha.lab.power import testing

AGENTS = ("fence_xenha_ilo", "fence_xenha_drac", "fence_xenha_irmc")


@pytest.fixture(scope="module")
def bmc(rack):
    with testing.ipmi_bmc(rack, "node1") as bmc:
        yield bmc


def options(bmc, action, **extra):
    return login(bmc, action, **{"method": "ipmi", "nodename": "node1", **extra})


def fence_ipmilan(bmc, action):
    return upstream("fence_ipmilan", bmc, action, lanplus=1)


def test_status_off_on(fence_agents, bmc):
    agent = fence_agents["fence_xenha_ilo"]
    r = run_agent(agent, options(bmc, "status"))
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr
    r = run_agent(agent, options(bmc, "off"))
    assert r.returncode == 0, r.stderr
    assert bmc.power == "off"
    r = run_agent(agent, options(bmc, "status"))
    assert (r.returncode, r.stdout.strip()) == (2, "Status: OFF"), r.stderr
    r = run_agent(agent, options(bmc, "on"))
    assert r.returncode == 0 and bmc.power == "on", r.stderr


@pytest.mark.parametrize("name", AGENTS[1:])
def test_drac_and_irmc_speak_ipmi_too(fence_agents, bmc, name):
    r = run_agent(fence_agents[name], options(bmc, "off", method="ipmi"))
    assert r.returncode == 0 and bmc.power == "off", r.stderr


def test_reboot_and_monitor_and_validate(fence_agents, bmc):
    agent = fence_agents["fence_xenha_ilo"]
    assert run_agent(agent, options(bmc, "reboot")).returncode == 0
    assert bmc.power == "on"
    assert run_agent(agent, options(bmc, "monitor")).returncode == 0
    assert run_agent(agent, options(bmc, "validate-all")).returncode == 0


def test_command_line_flags(fence_agents, bmc):
    argv = ["-o", "status", "-a", "127.0.0.1", "-u", str(bmc.port), "-l", bmc.user]
    argv += ["--password-file", bmc.password_file]
    r = run_agent(fence_agents["fence_xenha_drac"], argv=argv)
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr


def test_ipmitool_and_fence_ipmilan_see_what_our_agent_did(fence_agents, bmc):
    agent = fence_agents["fence_xenha_irmc"]
    assert run_agent(agent, options(bmc, "off")).returncode == 0
    assert "Chassis Power is off" in ipmitool(bmc, "chassis", "power", "status").stdout
    r = fence_ipmilan(bmc, "status")
    assert (r.returncode, r.stdout.strip()) == (2, "Status: OFF"), r.stderr
    assert fence_ipmilan(bmc, "on").returncode == 0
    r = run_agent(agent, options(bmc, "status"))
    assert r.stdout.strip() == "Status: ON"
    assert ipmitool(bmc, "chassis", "power", "off").returncode == 0
    assert run_agent(agent, options(bmc, "status")).returncode == 2


def test_delayed_power_off_is_polled_until_read_back(fence_agents, bmc):
    bmc.rack.configure("machines", "node1", delay=0.7)
    started = time.monotonic()
    r = run_agent(fence_agents["fence_xenha_ilo"], options(bmc, "off", verbose=1))
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - started >= 0.7
    assert bmc.power == "off"
    assert "read back OFF" in r.stderr


def test_stuck_on_is_a_failure_never_success(fence_agents, bmc):
    bmc.rack.configure("machines", "node1", stuck=True)
    r = run_agent(fence_agents["fence_xenha_ilo"], options(bmc, "off", power_timeout=1))
    assert r.returncode == 1
    assert "not read back OFF within power_timeout=1s" in r.stderr
    r = run_agent(fence_agents["fence_xenha_ilo"], options(bmc, "reboot", power_timeout=1))
    assert r.returncode == 1
    assert bmc.power == "on"


def test_wrong_password_is_a_failure(fence_agents, bmc, tmp_path):
    pw = testing.secret_file(str(tmp_path), "not-the-password", "wrong")
    r = run_agent(fence_agents["fence_xenha_ilo"], options(bmc, "off", password_file=pw))
    assert r.returncode == 1
    assert "refused the login for user 'admin'" in r.stderr
    assert bmc.power == "on"


def test_unreachable_bmc_is_a_failure(fence_agents, bmc):
    opts = options(bmc, "off", ipport=testing.free_port(), login_timeout=1)
    started = time.monotonic()
    r = run_agent(fence_agents["fence_xenha_ilo"], opts)
    assert r.returncode == 1
    assert "no answer within 1s" in r.stderr or "does not answer" in r.stderr
    assert time.monotonic() - started < 5
    r = run_agent(fence_agents["fence_xenha_ilo"], dict(opts, action="status"))
    assert r.returncode == 1 and r.stdout == ""


def test_unknown_action_and_missing_ip(fence_agents, bmc):
    r = run_agent(fence_agents["fence_xenha_ilo"], options(bmc, "explode"))
    assert r.returncode == 1 and "action 'explode' is not supported" in r.stderr
    r = run_agent(fence_agents["fence_xenha_ilo"], {"action": "off"})
    assert r.returncode == 1 and "missing required option ip" in r.stderr
    assert "Traceback" not in r.stderr


def test_password_script(fence_agents, bmc, tmp_path):
    script = tmp_path / "pw.sh"
    script.write_text("#!/bin/sh\ncat %s\n" % bmc.password_file)
    os.chmod(str(script), stat.S_IRWXU)
    opts = options(bmc, "status", password_script=str(script), password_file=None)
    r = run_agent(fence_agents["fence_xenha_ilo"], opts)
    assert r.stdout.strip() == "Status: ON", r.stderr


def test_password_never_in_ps_or_output(fence_agents, bmc):
    """The password given on stdin (the fencer's way) shows up in no process's argv."""
    bmc.rack.configure("machines", "node1", delay=1.0)
    opts = options(bmc, "off", password=bmc.password, password_file=None, verbose=1)
    r = run_watching_ps(fence_agents["fence_xenha_ilo"], opts, bmc.password)
    assert r.returncode == 0, r.stderr


# What ipmitool -vv prints of the Open Session Response (the "authenticatin" is its own).
NEGOTIATED = {
    "17": ["authenticatin algorithm : hmac_sha256", "integrity algorithm     : sha256_128"],
    "3": ["authenticatin algorithm : hmac_sha1", "integrity algorithm     : hmac_sha1_96"],
}


@pytest.mark.parametrize("suite", ["17", "3"])
def test_ipmitool_negotiates_cipher_suite(bmc, suite):
    r = ipmitool(bmc, "-C", suite, "-vv", "chassis", "power", "off")
    assert r.returncode == 0, r.stdout
    for negotiated in NEGOTIATED[suite] + ["encryption algorithm    : aes_cbc_128"]:
        assert "Negotiated " + negotiated in r.stdout, r.stdout[-3000:]
    assert bmc.power == "off"
    r = ipmitool(bmc, "-C", suite, "chassis", "power", "on")
    assert "Chassis Power Control: Up/On" in r.stdout and bmc.power == "on", r.stdout


def test_ipmitool_lists_suites_17_and_3_and_refuses_others(bmc):
    rows = [
        line.split() for line in ipmitool(bmc, "channel", "getciphers", "ipmi").stdout.splitlines()
    ]
    assert ["17", "N/A", "hmac_sha256", "sha256_128", "aes_cbc_128"] in rows, rows
    assert ["3", "N/A", "hmac_sha1", "hmac_sha1_96", "aes_cbc_128"] in rows, rows
    assert len([row for row in rows if row[0].isdigit()]) == 2, rows
    r = ipmitool(bmc, "-v", "chassis", "power", "status")  # no -C: the best listed
    assert "Using best available cipher suite 17" in r.stdout, r.stdout
    r = ipmitool(bmc, "-C", "1", "chassis", "power", "off")  # suite 1: SHA-1, no integrity
    assert r.returncode != 0 and "no matching cipher suite" in r.stdout, r.stdout
    assert bmc.power == "on"


def test_our_agent_negotiates_cipher_suite_17(fence_agents, bmc):
    r = run_agent(fence_agents["fence_xenha_ilo"], options(bmc, "off", verbose=1))
    assert r.returncode == 0 and bmc.power == "off", r.stderr
    suite = "IPMI 2.0 cipher suite 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128)"
    assert "connected: " + suite in r.stderr


def test_unknown_user_is_refused(fence_agents, bmc):
    r = run_agent(fence_agents["fence_xenha_ilo"], options(bmc, "off", username="nobody"))
    assert r.returncode == 1
    assert "refused the login for user 'nobody'" in r.stderr, r.stderr
    r = ipmitool(bmc, "-v", "chassis", "power", "off", user="nobody")
    assert "unauthorized name" in r.stdout, r.stdout
    assert bmc.power == "on"
