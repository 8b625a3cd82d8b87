"""Fidelity: fence-agents' own fence_xenapi (Debian package, its bundled XenAPI.py) works
against the simulator unchanged, and its answers match the hypervisor truth."""

import os

import pytest

from tests.agents.fence import run_agent

FENCE_XENAPI = "/usr/sbin/fence_xenapi"
POOL = {"hosts": 2, "vms": 2}  # the sim fixture's pool

pytestmark = pytest.mark.skipif(
    not os.path.exists(FENCE_XENAPI), reason="fence_xenapi missing: install fence-agents"
)


def fence(sim, url, action, *target):
    # The password reaches the agent through a script, never on the command line.
    argv = ["-o", action, "-s", url, "-l", sim.user, "-S", "cat " + sim.password_file]
    return run_agent(FENCE_XENAPI, argv=argv + list(target))


def test_status_off_on_follow_the_truth(sim):
    vm = sim.vms[0]
    running = lambda: any(vm in doms for doms in sim.truth()["domains"].values())  # noqa: E731
    r = fence(sim, sim.master.url, "status", "-n", "vm1")
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON")
    r = fence(sim, sim.master.url, "off", "-n", "vm1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not running()
    r = fence(sim, sim.master.url, "status", "-n", "vm1")
    assert (r.returncode, r.stdout.strip()) == (2, "Status: OFF")
    r = fence(sim, sim.master.url, "on", "-n", "vm1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert running()
    r = fence(sim, sim.master.url, "list")
    assert set(r.stdout.split()) == {"%s,%s" % (u, sim.vm_names[u]) for u in sim.vms}


def test_a_slave_endpoint_refuses_the_login(sim):
    r = fence(sim, sim.slaves[0].url, "status", "-n", "vm1")
    assert r.returncode != 0
    assert "HOST_IS_SLAVE" in r.stdout
