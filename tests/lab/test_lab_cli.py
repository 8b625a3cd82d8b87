"""`xenha lab …` as an operator runs it."""

import os

import pytest

from xenha.cli.lab import parse_groups
from xenha.errors import XenhaError
from xenha.lab import cluster, network


def test_partition_groups_are_parsed_like_the_docs_say():
    lab = cluster.Lab(4)
    names = lambda gs: [[h.name for h in g] for g in gs]  # noqa: E731
    assert names(parse_groups(["host1,host2", "/", "host3"], lab)) == [
        ["host1", "host2"],
        ["host3"],
        ["host4"],
    ]
    assert names(parse_groups(["host1/host2,host3,host4"], lab)) == [
        ["host1"],
        ["host2", "host3", "host4"],
    ]
    with pytest.raises(XenhaError, match="two groups"):
        parse_groups(["host1,host2,host3,host4"], lab)
    with pytest.raises(XenhaError, match="named in two groups"):
        parse_groups(["host1", "/", "host1"], lab)
    with pytest.raises(XenhaError, match="no lab host 'host9'"):
        parse_groups(["host9", "/", "host1"], lab)


def test_up_status_exec_power_down(xenha):
    try:
        r = xenha("lab", "up", "--hosts", "2", "--vms", "2", timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        r = xenha("lab", "up", "--hosts", "3", "--no-config", timeout=60)
        assert r.returncode == 1 and "a lab is already up (2 hosts, quorum two_node" in r.stderr
        assert "Traceback" not in r.stderr
        r = xenha("lab", "status")
        assert r.returncode == 0 and "quorum: two_node, fencing: ipmi" in r.stdout
        assert "host1 sees  host1:online host2:online" in r.stdout
        r = xenha("lab", "exec", "host2", "--", "hostname")
        assert (r.returncode, r.stdout.strip()) == (0, "host2")
        r = xenha("lab", "exec", "host1", "--", "crm", "configure", "show")
        assert "stonith:fence_xenha_ilo" in r.stdout and "ocf:xenha:xen-vm" in r.stdout
        r = xenha("lab", "power", "host2", "status")
        assert (r.returncode, r.stdout.strip()) == (0, "Chassis Power is on")
        r = xenha("lab", "crash", "host3")
        assert r.returncode == 1 and "no lab host 'host3'" in r.stderr
        r = xenha("lab", "power", "host2", "off")
        assert r.returncode == 0, r.stdout + r.stderr
        r = xenha("lab", "exec", "host2", "--", "true")
        assert r.returncode == 1 and "host2 is powered off" in r.stderr
    finally:
        r = xenha("lab", "down")
    assert r.returncode == 0
    assert network.lab_namespaces() == []
    assert not os.path.exists("/var/lib/xenha-lab")


def test_commands_without_a_lab_say_so(xenha):
    r = xenha("lab", "status")
    assert r.returncode == 1 and "no lab is up" in r.stderr and "Traceback" not in r.stderr
