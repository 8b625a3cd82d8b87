"""The lab's hosts on other cluster stacks (xenha.lab.stacks): Debian 13's Pacemaker 3.0.0
and Debian 11's 2.0.5, with xenha's agents under their Python (3.13, 3.9) and the
configuration generated for their target. The pool master loses its power: it is fenced,
a new master is promoted, its VMs restart on survivors, no VM ever runs twice. Before
that, a VM whose domain dies is restarted in place."""

import time

import pytest

from xenha.lab import stacks
from xenha.lab.pool import service
from xenha.lab.scenarios import evidence

from .scenario import assert_invariants, configured_lab, crm, tasks, vms_on, wait_for

TAKEOVER = 240  # seconds, as tests/lab/test_failover.py allows


@pytest.mark.parametrize("stack", sorted(stacks.STACKS))
def test_a_master_power_cut_on_the_stack(stack):
    with configured_lab(stack=stack) as lab:
        s = stacks.STACKS[stack]
        out = crm(lab, "pacemakerd", "--version")
        assert ("Pacemaker " + s.pacemaker) in out
        out = crm(lab, "python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])")
        assert out.strip() == s.python
        # A VM's domain dies: its monitor finds it, Pacemaker restarts it in place.
        vm = next(v for v in service.info()["vms"] if v["name"] == "vm2")
        home = evidence.vms_where()["vm2"]
        t = time.time()
        service.control().kill_domain(vm["uuid"])
        wait_for(lambda: evidence.vms_where()["vm2"] == home, 90, "vm2 running again where it was")
        wait_for(lambda: {"stop", "start"} <= tasks(t, "vm-vm2"), 10, "vm-vm2 stopped, started")
        master = lab.host("host1")
        lost = vms_on(master.name)
        assert lost
        cut = time.time()
        lab.crash(master)
        sim = service.control()

        def recovered():
            now = evidence.vms_where()
            running = all(now[vm] and master.name not in now[vm] for vm in lost)
            masters = [
                h.name
                for h in lab.hosts[1:]
                if sim.host_state(h.name)["role"] == "master" and sim.host_state(h.name)["up"]
            ]
            return running and masters

        (new,) = wait_for(recovered, TAKEOVER, "a new master and the master's VMs on survivors")
        took = time.time() - cut
        assert evidence.power_changes(master.name, "off", cut), "host1 was never fenced"
        print(
            "%s (Pacemaker %s): new master %s, %d VMs back in %.1f s"
            % (stack, s.pacemaker, new, len(lost), took)
        )
        assert_invariants(lost=[master.name])
