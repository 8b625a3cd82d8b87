"""fence_xenha_apc against the lab APC PDU (net-snmp snmpd), cross-checked with snmpget/snmpset
and fence-agents' fence_apc_snmp on the same agent."""

import time

import pytest

from tests.agents.fence import run_agent, run_client, run_watching_ps
from xenha.lab.power import testing

MACHINES = ["node1", "node2", "node3"]  # the rack (conftest.py: rack), fed by OUTLETS
OUTLETS = [
    (1, "node1", "node1"),
    (2, "node1", "node1"),
    (3, "node2", "node2"),
    (4, "node3", "node3"),
]
STATE_OID = ".1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.%d"
COMMAND_OID = ".1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.%d"


@pytest.fixture(scope="module")
def pdu(rack):
    with testing.apc_pdu(rack) as pdu:
        yield pdu


def options(pdu, action, plug, **extra):
    opts = {
        "action": action,
        "ip": "127.0.0.1",
        "ipport": pdu.port,
        "community": pdu.write_community,
        "plug": plug,
        "nodename": plug,
    }
    opts.update(extra)
    return opts


def net_snmp(tool, pdu, *args, version="2c", community=None):
    argv = [tool, "-v", version, "-c", community or pdu.write_community, "-On"]
    return run_client(argv + ["127.0.0.1:%d" % pdu.port] + list(args))


def fence_apc_snmp(pdu, action, plug):
    return run_agent("fence_apc_snmp", options(pdu, action, plug, snmp_version="2c", nodename=None))


@pytest.mark.parametrize("version", ["1", "2c"])
def test_outlet_by_number(fence_agents, pdu, version):
    agent = fence_agents["fence_xenha_apc"]
    r = run_agent(agent, options(pdu, "status", "3", snmp_version=version))
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr
    assert run_agent(agent, options(pdu, "off", "3", snmp_version=version)).returncode == 0
    assert pdu.outlet(3) == "off" and not pdu.rack.powered("node2")
    assert run_agent(agent, options(pdu, "status", "3", snmp_version=version)).returncode == 2
    assert run_agent(agent, options(pdu, "on", "3", snmp_version=version)).returncode == 0
    assert pdu.outlet(3) == "on"


def test_outlets_by_name_all_off_before_success(fence_agents, pdu):
    agent = fence_agents["fence_xenha_apc"]
    pdu.rack.configure("outlets", 2, delay=0.5)
    r = run_agent(agent, options(pdu, "off", "node1", verbose=1))
    assert r.returncode == 0, r.stderr
    assert (pdu.outlet(1), pdu.outlet(2)) == ("off", "off")
    assert not pdu.rack.powered("node1")
    assert "1, 2 read back OFF" in r.stderr
    assert (pdu.outlet(3), pdu.outlet(4)) == ("on", "on")


def test_one_of_two_outlets_stuck_is_a_failure(fence_agents, pdu):
    pdu.rack.configure("outlets", 2, stuck=True)
    r = run_agent(fence_agents["fence_xenha_apc"], options(pdu, "off", "node1", power_timeout=1))
    assert r.returncode == 1
    assert "2 not read back OFF" in r.stderr
    assert pdu.rack.powered("node1")
    r = run_agent(fence_agents["fence_xenha_apc"], options(pdu, "status", "node1"))
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON")


def test_outlet_list_and_comma_separated_plugs(fence_agents, pdu):
    agent = fence_agents["fence_xenha_apc"]
    r = run_agent(agent, options(pdu, "list", ""))
    assert r.stdout.splitlines() == ["1,node1", "2,node1", "3,node2", "4,node3"], r.stderr
    assert run_agent(agent, options(pdu, "reboot", "3,4")).returncode == 0
    assert run_agent(agent, options(pdu, "monitor", "")).returncode == 0


def test_plug_separator_splits_the_plug(fence_agents, pdu):
    opts = options(pdu, "off", "3;4", plug_separator=";")
    r = run_agent(fence_agents["fence_xenha_apc"], opts)
    assert r.returncode == 0, r.stderr
    assert (pdu.outlet(3), pdu.outlet(4)) == ("off", "off") and pdu.outlet(2) == "on"


def test_unknown_outlet_name_is_a_failure(fence_agents, pdu):
    r = run_agent(fence_agents["fence_xenha_apc"], options(pdu, "off", "node9"))
    assert r.returncode == 1 and "no outlet or system matches plug 'node9'" in r.stderr
    r = run_agent(fence_agents["fence_xenha_apc"], options(pdu, "status", "17"))
    assert r.returncode == 1 and "has no outlet 17 state" in r.stderr


def test_read_only_community_cannot_fence(fence_agents, pdu):
    opts = options(pdu, "off", "3", community=pdu.read_community, snmp_version="2c")
    r = run_agent(fence_agents["fence_xenha_apc"], opts)
    assert r.returncode == 1 and "refused switching outlet 3 off" in r.stderr
    assert pdu.outlet(3) == "on"


def test_wrong_community_or_unreachable_is_a_failure(fence_agents, pdu):
    started = time.monotonic()
    opts = options(pdu, "off", "3", community="wrong", login_timeout=1)
    r = run_agent(fence_agents["fence_xenha_apc"], opts)
    assert r.returncode == 1 and "wrong community" in r.stderr
    assert pdu.outlet(3) == "on"
    opts = options(pdu, "status", "node1", ipport=testing.free_port(), login_timeout=1)
    r = run_agent(fence_agents["fence_xenha_apc"], opts)
    assert r.returncode == 1 and r.stdout == ""
    assert time.monotonic() - started < 6


def test_community_from_password_file(fence_agents, pdu, tmp_path):
    path = testing.secret_file(str(tmp_path), pdu.write_community)
    opts = options(pdu, "off", "4", password_file=path, community=None)
    assert run_agent(fence_agents["fence_xenha_apc"], opts).returncode == 0
    assert pdu.outlet(4) == "off"


def test_net_snmp_and_fence_apc_snmp_agree(fence_agents, pdu):
    agent = fence_agents["fence_xenha_apc"]
    assert run_agent(agent, options(pdu, "off", "3")).returncode == 0
    r = net_snmp("snmpget", pdu, STATE_OID % 3, community=pdu.read_community)
    assert r.stdout.strip().endswith("INTEGER: 2"), r.stdout
    r = fence_apc_snmp(pdu, "status", "node2")
    assert (r.returncode, r.stdout.strip()) == (2, "Status: OFF"), r.stderr
    assert fence_apc_snmp(pdu, "on", "3").returncode == 0
    assert run_agent(agent, options(pdu, "status", "node2")).stdout.strip() == "Status: ON"
    assert net_snmp("snmpset", pdu, COMMAND_OID % 4, "i", "2").returncode == 0
    assert run_agent(agent, options(pdu, "status", "4")).returncode == 2
    r = fence_apc_snmp(pdu, "list", "")
    assert "1,node1" in r.stdout and "4,node3" in r.stdout


def test_snmpv3_user_reads_outlets(pdu):
    user, auth, priv = pdu.v3_user
    r = run_client(
        ["snmpget", "-v3", "-l", "authPriv", "-u", user, "-a", "SHA", "-A", auth, "-x", "AES"]
        + ["-X", priv, "-On", "127.0.0.1:%d" % pdu.port, STATE_OID % 1]
    )
    assert r.stdout.strip() == "%s = INTEGER: 1" % (STATE_OID % 1), r.stdout


def test_snmpv3_user_fences(fence_agents, pdu, tmp_path):
    user, auth, priv = pdu.v3_user
    opts = options(pdu, "off", "node2", snmp_version="3", username=user, community=None)
    opts["password_file"] = testing.secret_file(str(tmp_path), auth, "auth")
    opts["snmp_priv_passwd_file"] = testing.secret_file(str(tmp_path), priv, "priv")
    r = run_agent(fence_agents["fence_xenha_apc"], opts)
    assert r.returncode == 0, r.stderr
    assert pdu.outlet(3) == "off"
    opts["snmp_priv_passwd_file"] = testing.secret_file(str(tmp_path), "wrong-priv", "bad")
    r = run_agent(fence_agents["fence_xenha_apc"], dict(opts, action="on", login_timeout=1))
    assert r.returncode == 1, r.stdout
    assert pdu.outlet(3) == "off"
    opts["password_file"] = testing.secret_file(str(tmp_path), "wrong-auth", "bad2")
    r = run_agent(fence_agents["fence_xenha_apc"], dict(opts, action="on", login_timeout=1))
    assert r.returncode == 1 and "refused the SNMPv3 credentials" in r.stderr
    assert pdu.outlet(3) == "off"


def test_community_never_in_ps(fence_agents, pdu):
    pdu.rack.configure("outlets", 4, delay=0.5)
    opts = options(pdu, "off", "4", verbose=1)
    r = run_watching_ps(fence_agents["fence_xenha_apc"], opts, pdu.write_community)
    assert r.returncode == 0, r.stderr
