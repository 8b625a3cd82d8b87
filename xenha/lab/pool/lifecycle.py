"""VM state changes shared by the handlers and the hosts' own xapi (boot resync, a domain
that dies): xapi_vm_lifecycle.ml force_state_reset, and the guest agent's metrics."""

from .db import now_datetime
from .schema import NULL_REF


def create_vm(db, **fields):
    """A VM record with its VM_metrics, as xapi creates them together."""
    return db.create("VM", metrics=db.create("VM_metrics"), **fields)


def force_halted(db, ref):
    """The DB forgets where the VM ran; its guest agent falls silent."""
    vm = db.record("VM", ref)
    db.set("VM", ref, "resident_on", NULL_REF)
    vm["power_state"] = "Halted"
    vm["domid"] = -1
    set_guest_live(db, ref, False)


def running_on(db, ref, host_ref, domid, paused=False):
    vm = db.record("VM", ref)
    db.set("VM", ref, "resident_on", host_ref)
    vm["power_state"] = "Paused" if paused else "Running"
    vm["domid"] = domid
    db.record("VM_metrics", vm["metrics"])["start_time"] = now_datetime()
    if not paused:
        set_guest_live(db, ref, True)


def set_guest_live(db, ref, live):
    """The guest agent reports (or stops reporting) through VM_guest_metrics."""
    vm = db.record("VM", ref)
    if vm["guest_metrics"] == NULL_REF:
        if not live:
            return
        vm["guest_metrics"] = db.create(
            "VM_guest_metrics",
            os_version={"name": "Simulated Linux", "distro": "sim"},
            PV_drivers_version={"major": "9", "minor": "0", "micro": "0"},
            PV_drivers_up_to_date=True,
        )
    gm = db.record("VM_guest_metrics", vm["guest_metrics"])
    gm["live"] = bool(live)
    gm["last_updated"] = now_datetime()
