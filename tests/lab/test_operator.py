"""The operator commands on a real lab: `xenha node standby|online`, `vm move`, `master
move`, `maintenance`, `fence test|history`, run on a pool host as an operator would. The
hypervisor truth must show migrations only (no VM stopped or started), no fence, one
master; the fence drill powers nothing."""

import json
import os
import sys
import time

from xenha.lab.pool import service
from xenha.lab.scenarios.evidence import vms_where as where

from .scenario import (
    add_meatware,
    assert_invariants,
    configured_lab,
    crm,
    fencing_events,
    restarts,
    vms_on,
    wait_for,
)

XENHA = os.path.join(os.path.dirname(sys.executable), "xenha")


def xenha(lab, *argv, check=True):
    """`xenha ARGV` on the first pool host: (exit code, stdout, stderr)."""
    import subprocess

    proc = subprocess.run(
        lab.hosts[0].enter([XENHA] + list(argv)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
    return proc.returncode, proc.stdout, proc.stderr


def pool_master():
    sim = service.control()
    up = [h for h in ("host1", "host2", "host3") if sim.host_state(h)["role"] == "master"]
    return up


def leftover_constraints(lab):
    return [
        line.strip()
        for line in crm(lab, "cibadmin", "--query", "--scope", "constraints").splitlines()
        if "cli-" in line
    ]


def test_a_drain_of_the_master_host_migrates_its_vms_live_and_hands_the_master_over():
    with configured_lab() as lab:
        sim = service.control()
        assert pool_master() == ["host1"]
        leaving = vms_on("host1")
        assert leaving, where()
        before, t = restarts(sim), time.time()
        rc, out, _ = xenha(lab, "node", "standby", "host1", "--dry-run", "--json")
        plan = json.loads(out)
        assert plan["refusals"] == [], plan
        kinds = {c["rsc"]: c["kind"] for s in plan["steps"] for c in s["changes"]}
        assert {kinds["vm-" + vm] for vm in leaving} == {"live"}, plan
        assert kinds["pool-master"] == "master", plan
        _, out, _ = xenha(lab, "node", "standby", "host1", "--wait", "300")
        assert "host1 is drained" in out, out
        assert vms_on("host1") == [], where()
        assert pool_master() != ["host1"] and len(pool_master()) == 1, pool_master()
        assert restarts(sim) == before  # migrations only: no VM stopped or started
        assert fencing_events(t) == []
        assert leftover_constraints(lab) == []
        _, out, _ = xenha(lab, "status", check=False)
        assert "node host1" in out and "standby" in out, out
        placed = where()
        _, out, _ = xenha(lab, "node", "online", "host1", "--wait", "120")
        assert "host1 is online" in out
        lab.settle(60)
        assert where() == placed  # nothing moves back by itself
        assert restarts(sim) == before
        assert_invariants()


def test_a_drain_is_refused_while_another_node_is_in_standby_and_changes_nothing():
    with configured_lab() as lab:
        crm(lab, "crm_attribute", "--node", "host3", "--name", "standby", "--update", "on")
        lab.settle(60)
        placed = where()
        rc, out, _ = xenha(lab, "node", "standby", "host1", check=False)
        assert rc == 1 and "refused: node host3 is standby" in out, out
        assert where() == placed
        assert leftover_constraints(lab) == []
        assert_invariants()


def test_vm_move_and_master_move_restart_nothing_and_leave_no_constraint():
    with configured_lab() as lab:
        sim = service.control()
        before, t = restarts(sim), time.time()
        home = where()["vm2"][0]
        target = next(h.name for h in lab.hosts if h.name != home)
        _, out, _ = xenha(lab, "vm", "move", "vm2", target)
        assert "vm-vm2 runs on %s" % target in out
        assert where()["vm2"] == [target]
        _, out, _ = xenha(lab, "master", "move", "host3")
        assert "the pool master is on host3" in out
        wait_for(lambda: pool_master() == ["host3"], 30, "host3 the pool master")
        lab.settle(60)
        assert pool_master() == ["host3"]  # stays after the constraint is cleared
        assert where()["vm2"] == [target]
        assert restarts(sim) == before
        assert fencing_events(t) == []
        assert leftover_constraints(lab) == []
        _, out, _ = xenha(lab, "vm", "list", "--json")
        assert {r["id"]: r["mismatch"] for r in json.loads(out)}["vm-vm2"] is False
        assert_invariants()


def test_maintenance_lets_a_vm_be_moved_by_hand_restarts_nothing_and_ends_by_itself():
    from xenha.lab.scenarios import evidence

    from .scenario import xapi

    with configured_lab() as lab:
        sim = service.control()
        before, t = restarts(sim), time.time()
        xenha(lab, "maintenance", "on", "--for", "1m", "--reason", "lab work")
        rc, out, _ = xenha(lab, "status", check=False)
        assert rc == 1 and "maintenance is on until" in out and "(lab work)" in out, out
        vm = next(v for v in service.info()["vms"] if v["name"] == "vm2")
        home = where()["vm2"][0]
        other = next(h.name for h in lab.hosts if h.name != home)
        xapi(lab, "x.VM.pool_migrate(vm(%r), host(%r), {'live': 'true'})" % (vm["uuid"], other))
        time.sleep(35)  # a monitor interval (30 s): while in maintenance nothing reacts
        assert where()["vm2"] == [other]
        _, out, _ = xenha(lab, "maintenance", "off")
        assert "vm-vm2" not in out, out  # found where it runs: nothing to do
        lab.settle(60)
        assert where()["vm2"] == [other]
        assert "vm-vm2" in evidence.placement(lab)[other]
        assert restarts(sim) == before
        assert fencing_events(t) == []
        # Left on, it ends by itself: Pacemaker manages again at the end.
        xenha(lab, "maintenance", "on", "--for", "1m")
        assert "unmanaged" in crm(lab, "crm_mon", "-1")
        wait_for(lambda: "unmanaged" not in crm(lab, "crm_mon", "-1"), 150, "the maintenance's end")
        assert restarts(sim) == before
        assert_invariants()


def on_screen(lab, argv, rows=60):
    """What a person sees running ``xenha ARGV`` in an 80-column terminal (tmux): the
    screen's rows, colours and all (a terminal makes the commands paint)."""
    import subprocess

    session = "xenha-screen"
    command = " ".join([XENHA] + list(argv)) + "; echo '[done]'; sleep 60"
    tmux = ["tmux", "-L", session]
    subprocess.run(
        lab.hosts[0].enter(tmux + ["new-session", "-d", "-x", "80", "-y", str(rows), command]),
        check=True,
    )
    try:
        wait_for(
            lambda: "[done]" in subprocess.run(
                lab.hosts[0].enter(tmux + ["capture-pane", "-p"]),
                stdout=subprocess.PIPE, universal_newlines=True,
            ).stdout,
            120,
            "xenha %s on the screen" % " ".join(argv),
        )  # fmt: skip
        return subprocess.run(
            lab.hosts[0].enter(tmux + ["capture-pane", "-p"]),
            stdout=subprocess.PIPE,
            universal_newlines=True,
            check=True,
        ).stdout.splitlines()
    finally:
        subprocess.run(lab.hosts[0].enter(tmux + ["kill-server"]))


def test_the_commands_read_well_in_an_80_column_terminal():
    """Each line the commands print fits a row of an 80-column terminal whole (a longer
    one would wrap), in the terminal's coloured output as in the plain one."""
    with configured_lab() as lab:
        for argv in (
            ["status"],
            ["vm", "list"],
            ["node", "standby", "host2", "--dry-run"],
            ["check"],
            ["maintenance", "status"],
        ):
            rc, plain, err = xenha(lab, *argv, check=False)
            assert rc in (0, 1, 2) and plain.strip() and "Traceback" not in err, (argv, err)
            screen = on_screen(lab, argv)
            for line in plain.splitlines():
                assert len(line) <= 80, (argv, line)
                assert line.rstrip() in [row.rstrip() for row in screen], (argv, line, screen)


def test_fence_test_probes_each_level_and_powers_nothing():
    import jsonschema

    from xenha import fence_drill
    from xenha.lab.scenarios import evidence

    with configured_lab(fencing="ipmi,apc", edit=add_meatware) as lab:
        since = time.time()
        # exec fails (a XenhaError with the output) unless the command exits 0.
        out = lab.hosts[0].exec([XENHA, "fence", "test", "host2"], timeout=180)
        print(out)  # what an operator sees, shown by pytest -rA
        assert out.startswith("xenha fence test host2: OK"), out
        assert "probed from host1 with action=status only" in out, out
        for line in (
            "fencing-topology level 1: WORKS",
            "fencing-topology level 2: WORKS",
            "fencing-topology level 3: MANUAL",
        ):
            assert line in out, out
        assert "fence-host2-ilo fence_xenha_ilo plug=host2" in out, out
        assert "fence-host2-apc fence_xenha_apc plug=2 (cib)" in out, out
        result = json.loads(lab.hosts[0].exec([XENHA, "fence", "test", "host2", "--json"]))
        jsonschema.validate(result, fence_drill.SCHEMA)
        assert result["members"] == ["host1", "host2", "host3"]
        assert all(d["state"] == "on" for d in result["levels"][0]["devices"])
        for host in lab.hosts:
            assert evidence.power_changes(host.name, "off", since) == [], host.name
            assert evidence.power_changes(host.name, "on", since) == [], host.name
        assert fencing_events(since) == []

        history = json.loads(lab.hosts[1].exec([XENHA, "fence", "history", "--json"]))
        jsonschema.validate(history, fence_drill.HISTORY_SCHEMA)
        assert not [e for e in history["events"] if e["completed"] and e["completed"] >= since]
        print(lab.hosts[1].exec([XENHA, "fence", "history"]))
