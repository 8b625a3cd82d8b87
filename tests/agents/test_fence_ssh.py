"""fence_xenha_drac (method=racadm) and fence_xenha_ssh against a real OpenSSH sshd on
127.0.0.1 with its own keys; host keys verified, OpenSSH's client as the cross-check."""

import pytest

from tests.agents.fence import login, run_agent, run_client
from xenha.lab.power import testing

MACHINES = ["node1", "node2"]  # the rack (conftest.py: rack)


@pytest.fixture(scope="module")
def sshd(rack):
    with testing.sshd(rack, "node1") as sshd:
        yield sshd


POWER_COMMANDS = {
    "off_command": "power off {plug}",
    "on_command": "power on {plug}",
    "status_command": "power status {plug}",
}


def racadm(sshd, action, **extra):
    return login(sshd, action, **{"method": "racadm", **extra})


def ssh_opts(sshd, action, plug, **extra):
    return login(sshd, action, **{"plug": plug, **POWER_COMMANDS, **extra})


def openssh(sshd, command):
    return run_client(
        ["ssh", "-p", str(sshd.port), "-i", sshd.identity_file, "-o", "BatchMode=yes"]
        + ["-o", "UserKnownHostsFile=" + sshd.known_hosts, "-o", "StrictHostKeyChecking=yes"]
        + ["root@127.0.0.1", command]
    ).stdout.strip()


def test_drac_racadm_status_off_on(fence_agents, sshd):
    agent = fence_agents["fence_xenha_drac"]
    r = run_agent(agent, racadm(sshd, "status"))
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr
    assert run_agent(agent, racadm(sshd, "off")).returncode == 0
    assert sshd.rack.state("machines", "node1") == "off"
    assert openssh(sshd, "racadm serveraction powerstatus") == "Server power status: OFF"
    assert run_agent(agent, racadm(sshd, "status")).returncode == 2
    assert openssh(sshd, "racadm serveraction powerup") == "Server power operation successful"
    assert run_agent(agent, racadm(sshd, "status")).stdout.strip() == "Status: ON"
    assert run_agent(agent, racadm(sshd, "reboot")).returncode == 0
    assert sshd.rack.state("machines", "node1") == "on"


def test_ssh_agent_runs_the_power_commands(fence_agents, sshd):
    agent = fence_agents["fence_xenha_ssh"]
    assert run_agent(agent, ssh_opts(sshd, "off", "node2")).returncode == 0
    assert sshd.rack.state("machines", "node2") == "off"
    assert sshd.rack.state("machines", "node1") == "on"
    assert run_agent(agent, ssh_opts(sshd, "status", "node2")).returncode == 2
    assert openssh(sshd, "power status node2") == "node2 is OFF"
    assert run_agent(agent, ssh_opts(sshd, "on", "node2")).returncode == 0
    r = run_agent(agent, ssh_opts(sshd, "off", "node1; rm -rf /"))
    assert r.returncode == 1 and "may only hold letters" in r.stderr


def test_stuck_power_is_a_failure(fence_agents, sshd):
    sshd.rack.configure("machines", "node1", stuck=True)
    r = run_agent(fence_agents["fence_xenha_drac"], racadm(sshd, "off", power_timeout=1))
    assert r.returncode == 1 and "not read back OFF" in r.stderr


def test_unknown_or_changed_host_key_is_refused(fence_agents, sshd, tmp_path):
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    r = run_agent(fence_agents["fence_xenha_drac"], racadm(sshd, "off", known_hosts=empty))
    assert r.returncode == 1 and "is not in %s" % empty in r.stderr
    pub = " ".join(testing.ssh_keygen(str(tmp_path / "other_key")).split()[:2])
    changed = tmp_path / "changed_known_hosts"
    changed.write_text("[127.0.0.1]:%d %s\n" % (sshd.port, pub))
    r = run_agent(fence_agents["fence_xenha_drac"], racadm(sshd, "off", known_hosts=changed))
    assert r.returncode == 1 and "does not match" in r.stderr
    assert sshd.rack.state("machines", "node1") == "on"


def test_wrong_key_and_unreachable_are_failures(fence_agents, sshd, tmp_path):
    wrong = tmp_path / "wrong_key"
    testing.ssh_keygen(str(wrong))
    r = run_agent(fence_agents["fence_xenha_drac"], racadm(sshd, "off", identity_file=wrong))
    assert r.returncode == 1 and "refused the login for user 'root'" in r.stderr
    opts = racadm(sshd, "off", ipport=testing.free_port(testing.socket.SOCK_STREAM))
    r = run_agent(fence_agents["fence_xenha_drac"], opts)
    assert r.returncode == 1 and "Unable to connect" in r.stderr
    assert sshd.rack.state("machines", "node1") == "on"
