"""The cluster follows the pool's per-VM HA flags on a real lab: a flag cleared in the pool
(as XenCenter's custom field does) takes the VM's resource away and the VM keeps running;
set again, the resource comes back and finds the VM where it runs; `xenha vm unprotect`
does the same at once. The hypervisor truth shows no VM stopped or started."""

import time

from xenha.lab.hosts import FOLLOW_EVERY
from xenha.lab.pool import service
from xenha.lab.scenarios.evidence import vms_where as where

from .scenario import assert_invariants, configured_lab, crm, restarts, wait_for, xapi
from .test_operator import xenha

FIELD = "ha-lizard-enabled"


def flagged(desc):
    desc["pool"]["protect"] = "flagged"


def set_flag(lab, uuid, value):
    xapi(
        lab,
        "x.VM.remove_from_other_config(vm(%r), %r); x.VM.add_to_other_config(vm(%r), %r, %r)"
        % (uuid, FIELD, uuid, FIELD, value),
    )


def resources(lab):
    return crm(lab, "cibadmin", "--query", "--scope", "resources")


def test_the_cluster_follows_the_pools_flags_and_never_stops_a_vm():
    with configured_lab(edit=flagged, before=_flag_all) as lab:
        sim = service.control()
        vm4 = next(v for v in service.info()["vms"] if v["name"] == "vm4")
        (home,) = where()["vm4"]
        before = restarts(sim)

        set_flag(lab, vm4["uuid"], "false")  # as XenCenter would
        t = time.monotonic()
        wait_for(lambda: 'id="vm-vm4"' not in resources(lab), 60, "vm-vm4's resource gone")
        print("followed a cleared flag in %.1f s (a pass every %d s)" % (
            time.monotonic() - t, FOLLOW_EVERY))  # fmt: skip
        wait_for(lambda: "vm-vm4" not in crm(lab, "crm_mon", "-1"), 60, "its orphan forgotten")
        assert where()["vm4"] == [home]  # running on, untouched

        set_flag(lab, vm4["uuid"], "true")
        wait_for(lambda: 'id="vm-vm4"' in resources(lab), 60, "vm-vm4's resource back")
        lab.settle(120)
        assert "vm-vm4\t(ocf:xenha:xen-vm):\t Started %s" % home in crm(lab, "crm_mon", "-1")

        _, out, _ = xenha(lab, "vm", "unprotect", "vm3")
        assert "vm-vm3: no longer protected; it keeps running" in out, out
        assert 'id="vm-vm3"' not in resources(lab)
        lab.settle(120)
        assert restarts(sim) == before  # nothing stopped or started, only probed
        assert_invariants()


def _flag_all(lab):
    for vm in service.info()["vms"]:
        set_flag(lab, vm["uuid"], "true")
