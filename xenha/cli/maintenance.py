"""`xenha maintenance [status|on|off]`: the cluster-wide "disable HA" switch."""

import json
import sys

from xenha import values
from xenha.cli import plans

OFF_WAIT = 300  # seconds: the re-probe of every resource, then the preview


def register(sub):
    p = sub.add_parser(
        "maintenance",
        help="switch HA off for the whole cluster, for a while (and back on)",
        description="Cluster-wide maintenance: Pacemaker's maintenance-mode, which stops "
        "it from monitoring, starting, stopping or moving anything. xenha puts it in a "
        "property set that ends by itself (Pacemaker turns it off at the end), with the "
        "reason and who set it, shown by `xenha status`.",
    )
    msub = p.add_subparsers(dest="maintenance_command", metavar="ACTION")
    msub.required = True
    st = msub.add_parser("status", help="whether maintenance is on, until when and why")
    st.add_argument("--json", action="store_true", help="print the state as JSON")
    st.set_defaults(func=run_status)
    on = msub.add_parser(
        "on",
        help="stop monitoring and recovering everything until the end or `off`",
        description="Turn maintenance on: nothing is monitored or recovered until "
        "DURATION has passed or `xenha maintenance off` runs; lists what is unprotected "
        "meanwhile. Running it again moves the end.",
    )
    on.add_argument(
        "--for",
        dest="duration",
        default="4h",
        metavar="DURATION",
        help="how long (90s, 30m, 4h; default 4h, at least 1m); Pacemaker ends it then",
    )
    on.add_argument("--reason", default="", metavar="TEXT", help="why, shown by xenha status")
    on.add_argument("--json", action="store_true", help="print the new state as JSON")
    on.set_defaults(func=run_on)
    off = msub.add_parser(
        "off",
        help="re-probe everything, show what Pacemaker would do, then manage again",
        description="Turn maintenance off. First every resource is probed again while "
        "nothing is managed yet, so VMs moved by hand are found where they run; then "
        "the preview shows what Pacemaker will do once it manages again. Refuses (unless "
        "--force) when that would restart a VM. Also ends a maintenance-mode set by hand "
        "(crm configure property maintenance-mode=true). Exit 0 done, 1 refused.",
    )
    plans.add_options(off, OFF_WAIT)
    off.set_defaults(func=run_off)


def _configuration():
    import xml.etree.ElementTree as ET

    from xenha.pacemaker import cib

    return ET.fromstring(cib("configuration"))


def _state():
    from xenha import maintenance

    return maintenance.state(_configuration())


def _say(state):
    from xenha import status

    if not state["on"]:
        return "maintenance is off"
    if state["manual"]:
        return "maintenance is on (maintenance-mode set outside xenha: no end)"
    why = ", reason: %s" % state["reason"] if state["reason"] else ""
    by = ", set by %s at %s" % (state["by"], state["since"]) if state["by"] else ""
    return "maintenance is on until %s%s%s" % (status._clock(state["until"]), why, by)


def run_status(args):
    state = _state()
    print(json.dumps(state, indent=2, sort_keys=True) if args.json else _say(state))
    return 0


def run_on(args):
    import getpass
    import socket
    import time

    from xenha import maintenance
    from xenha.operate.verbs import Verbs

    seconds = maintenance.duration(args.duration)
    view = plans.live_view()
    before = view["cluster"]["maintenance"]
    mine_there = before["until"] is not None or before["expired"]
    by = "%s@%s" % (getpass.getuser(), socket.gethostname())
    xml = maintenance.element(time.time() + seconds, args.reason, by)
    verbs = Verbs()
    verbs.put_property_set(xml, exists=mine_there)
    for nvpair_id, value in maintenance.others(_configuration()):
        if not values.is_true(value):  # it would win over this set: Pacemaker's default
            verbs.remove_nvpair(nvpair_id)
            print("removed maintenance-mode=%s (%s): it would keep HA on" % (value, nvpair_id))
    _require_in_effect(view, verbs)
    state = _state()
    if args.json:
        print(json.dumps(state, indent=2, sort_keys=True))
        return 0
    print(_say(state))
    print("unprotected meanwhile (not monitored, not recovered):")
    for vm in view["vms"]:
        print("  %s on %s" % (vm["id"], ",".join(vm["pacemaker"]) or "nowhere"))
    from xenha.operate.drain import master_on

    print("  the pool master on %s" % (master_on(view["cluster"]) or "no node"))
    print("end it early with: xenha maintenance off")
    return 0


def _require_in_effect(view, verbs):
    """Check on a copy of the CIB that Pacemaker would move nothing now (a VM banned from
    its node stays); else take the set back and say so."""
    from xenha import maintenance
    from xenha.errors import XenhaError
    from xenha.operate import paper

    placed = [vm for vm in view["vms"] if vm["pacemaker"]]
    if not placed:
        return
    with paper.Paper() as p:
        p.verbs.ban(placed[0]["id"], placed[0]["pacemaker"][0])
        moved = [c for c in p.run({vm["id"] for vm in view["vms"]}) if c.rsc == placed[0]["id"]]
    if moved:
        verbs.remove_property_set(maintenance.SET_ID)
        raise XenhaError(
            "maintenance did not take effect (Pacemaker would still move %s); nothing changed"
            % placed[0]["id"]
        )


def run_off(args):
    from xenha import maintenance
    from xenha.deadline import Deadline
    from xenha.errors import XenhaError
    from xenha.operate import checks, paper
    from xenha.operate.verbs import Verbs

    state = _state()
    if not state["on"]:
        if state["expired"]:
            Verbs().remove_property_set(maintenance.SET_ID)
        print(_say(state))
        return 0
    deadline = Deadline(args.wait or OFF_WAIT)
    verbs = Verbs()
    say = plans.progress(args)
    say("probing every resource again while nothing is managed")
    verbs.refresh()
    verbs.wait_idle(deadline.left())
    view = plans.live_view()

    def end(v):
        if state["until"] is not None or state["expired"]:
            v.remove_property_set(maintenance.SET_ID)
        for nvpair_id, value in maintenance.others(_configuration()):
            if values.is_true(value):
                v.remove_nvpair(nvpair_id)

    with paper.Paper() as p:
        end(p.verbs)
        steps = [("maintenance off", p.run(set(view["cluster"]["vm_resources"])))]
    stop = plans.show(args, "maintenance off", steps, checks.restarts(steps, view["cluster"]))
    if stop is not None:
        return stop
    end(verbs)
    if _state()["on"]:
        raise XenhaError("maintenance is still on: %s" % _say(_state()))
    plans.settle(args, deadline.left())
    say("maintenance is off: the cluster manages everything again")
    sys.stdout.flush()
    return 0
