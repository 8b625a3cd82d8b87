"""The lab's hosts are real: corosync + pacemakerd per namespace set, power cuts are real."""

import json
import os
import sys
import time

import pytest

from tests.conftest import run_xenha
from xenha.errors import XenhaError
from xenha.lab import cluster, network
from xenha.lab.hosts import STATE
from xenha.lab.lock import LabBusy
from xenha.lab.proc import PidFile, poll


def online(lab, via):
    nodes, dc = lab.members(via=via)
    return {n for n, up in nodes.items() if up}


def test_each_host_is_its_own_machine(lab3):
    h1, h2, _ = lab3.hosts
    assert h1.exec(["hostname"]).strip() == "host1"
    assert h2.exec(["hostname"]).strip() == "host2"
    # Own PID namespace (the init is PID 1), own /run, own address.
    assert h1.exec(["cat", "/proc/1/comm"]).strip() == "bash"
    h1.exec(["touch", "/run/xenha/only-on-host1"])
    assert h2.exec(["ls", "/run/xenha"]).split() == []
    assert h1.address in h1.exec(["ip", "-4", "-o", "addr", "show", "eth0"])
    # Real corosync membership of all three.
    members = h1.exec(["corosync-quorumtool", "-l"])
    assert all(h.name in members for h in lab3.hosts), members


def cmap(host, key):
    """A key's value in the running corosync of ``host`` (``corosync-cmapctl -g``)."""
    return host.exec(["corosync-cmapctl", "-g", key]).rsplit("=", 1)[1].strip()


def test_hosts_run_the_corosync_conf_xenha_config_generates(lab3):
    r = run_xenha("config", "generate", "-f", "corosync", str(cluster.DESCRIPTION))
    assert r.returncode == 0, r.stderr
    for h in lab3.hosts:
        assert h.exec(["cat", "/etc/corosync/corosync.conf"]) == r.stdout
        h.exec(["corosync", "-t"])  # corosync checks the file (and finds the key)
    h1 = lab3.hosts[0]
    assert cmap(h1, "totem.crypto_cipher") == "aes256"
    assert cmap(h1, "totem.token") == "1300"
    assert "Quorate:          Yes" in h1.exec(["corosync-quorumtool", "-s"])


def test_power_cut_and_reboot(lab3):
    h1, _, h3 = lab3.hosts
    h3.power_cut()
    assert not h3.is_on()
    with pytest.raises(XenhaError, match="powered off"):
        h3.exec(["true"])
    assert poll(lambda: online(lab3, h1) == {"host1", "host2"}, 30, interval=0.2)
    h3.power_on()
    lab3.wait_online(["host1", "host2", "host3"], timeout=60)


def test_partition_and_heal(lab3):
    h1, h2, h3 = lab3.hosts
    network.partition([[h1.cable, h2.cable], [h3.cable]])
    assert poll(lambda: online(lab3, h1) == {"host1", "host2"}, 30, interval=0.2)
    # The lone host loses quorum: its view no longer has the others online.

    def lone_without_quorum():
        return "partition WITHOUT quorum" in h3.exec(["crm_mon", "-1"], check=False)

    assert poll(lone_without_quorum, 30, interval=0.2)
    network.heal([h.cable for h in lab3.hosts])
    lab3.wait_online(["host1", "host2", "host3"], timeout=60)


def test_a_second_up_refuses_while_a_lab_is_up_and_leaves_it_alone(lab3):
    with pytest.raises(LabBusy, match=r"a lab is already up \(3 hosts, quorum majority, "):
        cluster.Lab(2).up(progress=lambda msg: None)
    assert cluster.Lab(2).down() is False  # not its lab
    assert sorted(online(lab3, lab3.hosts[0])) == ["host1", "host2", "host3"]


def test_a_killed_labs_leftovers_are_removed_by_the_next_up():
    lab = cluster.Lab(2)
    lab.up(progress=lambda msg: None)
    # As after a killed run: every lab process dead, its owner gone, the rest left behind.
    for pidfile in STATE.glob("**/*.pid"):
        PidFile(pidfile).kill()
    state = json.loads(cluster.LAB_JSON.read_text())
    state["owner"]["start"] = -1
    cluster.LAB_JSON.write_text(json.dumps(state))
    assert network.lab_namespaces() != []
    said = []
    again = cluster.Lab(2)
    again.up(progress=said.append)
    try:
        assert said[0].startswith("removing a stale lab (2 hosts, quorum two_node, "), said
        again.wait_online(["host1", "host2"], timeout=60)
    finally:
        assert again.down()


def test_down_leaves_nothing_behind():
    lab = cluster.Lab(2)
    lab.up(progress=lambda msg: None)
    pids = [h.init.pid() for h in lab.hosts]
    assert lab.down()
    assert network.lab_namespaces() == []
    assert not STATE.exists()
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid)


def test_two_nodes_with_arbiter_split_leaves_exactly_one_quorate_side():
    lab = cluster.Lab(2, quorum="qdevice")
    lab.up(progress=lambda msg: None)
    try:
        h1, h2 = lab.hosts
        assert "Qdevice" in h1.exec(["corosync-quorumtool", "-s"])
        # The generated quorum.device: one vote (ffsplit), TLS off as the lab's description says.
        assert (cmap(h1, "quorum.device.votes"), cmap(h1, "quorum.device.net.tls")) == ("1", "off")
        network.partition([[h1.cable], [h2.cable]])

        def quorate(h):
            return "Quorate:          Yes" in h.exec(["corosync-quorumtool", "-s"], check=False)

        assert poll(lambda: not quorate(h1) or not quorate(h2), 30, interval=0.2)
        time.sleep(3)  # let the arbiter's vote settle
        assert [quorate(h1), quorate(h2)].count(True) == 1
        assert quorate(h1)  # ffsplit's tie-breaker: the lowest node ID
    finally:
        lab.down()


def test_hosts_reach_their_pool_like_a_dom0_does(lab3):
    """Local socket and pool.conf on each host; a slave follows HOST_IS_SLAVE over the lab
    network."""
    from xenha.lab.pool import service

    script = (
        "import json,sys; from xenha.xapi import Settings, Client;"
        "i=json.load(open(%r));"
        "c=Client(Settings(password_file=i['password_file'], ca_file=i['ca_file'], timeout=3),"
        "cache_dir=None);"
        "n=c.xenapi.host.get_name_label;"
        "print(n(c.this_host()), n(c.master()))"
    ) % str(service.INFO)
    h1, h2, _ = lab3.hosts
    assert h2.exec([sys.executable, "-c", script]).split() == ["host2", "host1"]
    # each host's role as its xapi wrote it, where a dom0 has it
    assert h1.exec(["cat", "/etc/xensource/pool.conf"]) == "master"
    assert h2.exec(["cat", "/etc/xensource/pool.conf"]) == "slave:" + h1.address
    lab3.crash(h1)
    r = h2.exec([sys.executable, "-c", script], check=False)
    assert "XapiUnreachable" in r and "198.18.0.11" in r
    assert service.control().double_runs() == []
