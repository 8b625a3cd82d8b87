"""`xenha vm protect|unprotect|follow`: the pool's per-VM HA flag, and the cluster
following it (xenha.protection)."""

import json
import sys
import time

from xenha.install import FOLLOW_EVERY  # seconds between two passes of xenha-follow


def register(vsub):
    for verb, value, what in (
        ("protect", "true", "protect VM: set its HA flag in the pool, give it its resource"),
        ("unprotect", "false", "stop protecting VM (it keeps running): clear its flag"),
    ):
        p = vsub.add_parser(
            verb,
            help=what,
            description="Set VM's HA flag (the description's pool.flag_field, "
            "default ha-lizard-enabled, in its other-config: the field HA-Lizard and "
            "XenCenter's custom fields use) to %s, then follow the pool at once, as the "
            "xenha-follow service does every %d s: %s. Needs pool.mode: vms and "
            "pool.protect: flagged. VM: its UUID, its name in the pool (quote names with "
            "spaces) or its resource id. Exit 0 done, 1 refused or failed."
            % (
                value,
                FOLLOW_EVERY,
                "its resource is added; Pacemaker probes it and finds it where it runs"
                if value == "true"
                else "its resource is removed while the VM keeps running",
            ),
        )
        p.add_argument("vm", metavar="VM", help="UUID, name or resource id of the VM")
        p.set_defaults(func=run_flag, value=value, verb=verb)
    f = vsub.add_parser(
        "follow",
        help="make the cluster protect the VMs the pool says (flags, appliances)",
        description="Compare the VMs the pool protects (pool.mode/protect/flag_field of "
        "the description stored in the CIB by `xenha config load`) with the cluster's VM "
        "resources: add those newly protected, remove those no longer protected (they keep "
        "running), mail a flag that is neither true nor false once (it counts as not "
        "protected). Existing resources are never changed. Once, or with --every, a pass "
        "every SECONDS on the node that is DC in a quorate partition (how the xenha-follow "
        "service runs on every node). No pass acts while maintenance is on; the service "
        "then mails a reminder instead, when it goes on and hourly.",
    )
    f.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="keep following: a pass every SECONDS, acting only on the DC",
    )
    f.add_argument("--json", action="store_true", help="print what the pass did as JSON")
    f.set_defaults(func=run_follow)


def _target(cib_xml, client, text):
    """The pool's reference of VM ``text``: a resource id of the cluster, else a UUID or
    a unique name in the pool."""
    from xenha import pacemaker
    from xenha.crm.agents import VM_AGENT

    found = pacemaker.primitives(cib_xml, VM_AGENT).get(text)
    return client.resolve_vm(found.get("vm", text) if found is not None else text)


def run_flag(args):
    from xenha import model, protection
    from xenha.errors import XenhaError
    from xenha.operate.verbs import Verbs

    verbs = Verbs()
    cib_xml = verbs.query()
    root = protection.pacemaker.parse_xml(cib_xml, "the CIB")
    pool = model.loads(protection.stored(root), "the description stored in the CIB")["pool"]
    if (pool["mode"], pool["protect"]) != ("vms", "flagged"):
        raise XenhaError(
            "the pool's flags choose nothing here: the description protects %s (pool.mode: "
            "%s, pool.protect: %s); with pool.mode: vms and pool.protect: flagged each VM's "
            "%s says"
            % (
                "every VM" if pool["mode"] == "vms" else "the appliances' VMs",
                pool["mode"],
                pool["protect"],
                pool["flag_field"],
            )
        )
    why = protection.should_act(None, None, protection.has_quorum(root), root, owner=False)
    if why:
        raise XenhaError("not now: %s" % why)
    with protection.client_of(cib_xml, "xenha-vm-" + args.verb) as client:
        ref = _target(cib_xml, client, args.vm)
        rec = client.xenapi.VM.get_record(ref)
        protection.set_flag(client, ref, pool["flag_field"], args.value)
        field = pool["flag_field"]
        print("%s (%s): %s=%s in the pool" % (rec["name_label"], rec["uuid"], field, args.value))
        change = protection.Follower(client, verbs, origin="xenha vm " + args.verb).run()
    _tell(change)
    if not change.added and not change.released:
        print("the cluster already agreed: nothing to change")
    return 0


def _tell(change, log=print):
    for line in change.lines:
        log(line)


def run_follow(args):
    if args.every is None:
        return _pass(args, owner=False)
    if args.every <= 0:
        from xenha.errors import XenhaError

        raise XenhaError("--every %s: give a number of seconds above 0" % args.every)
    said = [None]

    def log(line):
        print(line, flush=True)

    while True:
        try:
            _pass(args, owner=True, log=log, said=said)
        except Exception as e:  # noqa: BLE001 (a service: say it once, try again later)
            line = "xenha: follow: %s" % e
            if line != said[0]:
                print(line, file=sys.stderr, flush=True)
                said[0] = line
        time.sleep(args.every)


def _pass(args, owner, log=print, said=None):
    """One pass; with ``owner``, only on the DC (the reason it did not act is logged
    once, when it changes)."""
    from xenha import pacemaker, protection
    from xenha.operate.verbs import Verbs

    verbs = Verbs()
    cib_xml = verbs.query()
    root = pacemaker.parse_xml(cib_xml, "the CIB")
    me = pacemaker.node_name() if owner else None
    dc = pacemaker.designated_controller() if owner else None
    quorate = protection.has_quorum(root)
    if owner and me == dc and quorate:
        _remind(verbs, root, cib_xml, log)
    why = protection.should_act(me, dc, quorate, root, owner=owner)
    if why:
        if said is None:
            from xenha.errors import XenhaError

            raise XenhaError("not following now: %s" % why)
        if said[0] != why:
            log("not following: %s" % why)
            said[0] = why
        return 0
    with protection.client_of(cib_xml) as client:
        follower = protection.Follower(client, verbs, protection.mailer(cib_xml, log))
        change = follower.run(cib_xml)
    if said is not None:
        said[0] = None
    if getattr(args, "json", False) and said is None:
        print(json.dumps(change.as_dict(), indent=2, sort_keys=True))
    else:
        _tell(change, log)
    return 0


def _remind(verbs, root, cib_xml, log):
    """The service's other duty on the DC: mail that maintenance is on, when it goes on
    and every hour while it stays on (Pacemaker raises no alert for it)."""
    from xenha import maintenance, protection

    text = maintenance.reminder(root)
    kept = protection.property_set(root, maintenance.REMINDED) is not None
    if text is None:
        if kept and not maintenance.state(root)["on"]:
            verbs.remove_property_set(maintenance.REMINDED)
        return
    log(text)
    mail = protection.mailer(cib_xml, log, kind="maintenance")
    if mail is not None:
        mail(text)
    verbs.put_property_set(maintenance.reminded_element(), kept)


FOLLOW_SCHEMA = {
    "type": "object",
    "required": ["added", "released", "invalid", "mailed", "lines"],
    "properties": {
        "added": {"type": "array", "items": {"type": "string"}},
        "released": {"type": "array", "items": {"type": "string"}},
        "invalid": {"type": "array", "items": {"type": "object"}},
        "mailed": {"type": "array", "items": {"type": "string"}},
        "lines": {"type": "array", "items": {"type": "string"}},
    },
}
