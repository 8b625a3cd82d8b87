"""What the lab recorded and how to read it: when and where things really happened, from
records the software under test does not write.

* Pacemaker's alerts (node lost/member, fencing results, resource operations), as the
  lab's alert recorder (:mod:`xenha.lab.recorder`) wrote them;
* the power log: when the rack really cut or restored a host's power (the power hook,
  :mod:`xenha.lab.power.hook`, writes it before any BMC or PDU can report the change);
* the fence requests in the survivors' Pacemaker logs;
* the hypervisor truth: on which hosts each VM really runs (the simulator's);
* Pacemaker's own view: where it runs each resource, and who holds the pool master role.

Times are the machine's clock (``time.time()``), as all of these record them.
"""

import collections
import re
from datetime import datetime, timezone
from pathlib import Path

from xenha.lab.pool import service
from xenha.lab.power.hook import LOG as POWER_LOG
from xenha.lab.recorder import EVENTS, FIELDS

Event = collections.namedtuple("Event", FIELDS)


def events(path=EVENTS):
    """Every recorded alert, oldest first (several nodes may report the same one)."""
    out = []
    for line in Path(path).read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == len(FIELDS):
            try:
                out.append(Event(*fields)._replace(t=float(fields[0])))
            except ValueError:
                continue
    return sorted(out, key=lambda e: e.t)


def select(evts, since=0.0, **match):
    """The events of ``evts`` at or after ``since`` whose fields equal ``match``."""
    return [e for e in evts if e.t >= since and all(getattr(e, k) == v for k, v in match.items())]


def first(evts, since=0.0, **match):
    """Time of the first event after ``since`` whose fields equal ``match``, or None."""
    found = select(evts, since, **match)
    return found[0].t if found else None


def power_changes(machine, state, since=0.0):
    """When ``machine``'s power really went ``state`` ("off" or "on") at or after ``since``."""
    if not POWER_LOG.exists():
        return []
    lines = (line.split("\t") for line in POWER_LOG.read_text().splitlines())
    return [float(t) for t, m, s in lines if m == machine and s == state and float(t) >= since]


FENCE_REQUEST = re.compile(
    r"^(\w{3} +\d+ [\d:.]+) \S+ pacemaker-controld.*Requesting fencing \(\w+\) of node (\S+)"
)


def fence_requested(hosts, victim, since):
    """Earliest "Requesting fencing (ACTION) of node VICTIM" after ``since`` in the logs of
    ``hosts`` other than the victim (the controller's notice in Pacemaker 2.1)."""
    year = datetime.now(timezone.utc).year
    times = []
    for h in hosts:
        log = h.root / "var/log/pacemaker/pacemaker.log"
        if h.name == victim or not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            m = FENCE_REQUEST.match(line)
            if m and m.group(2) == victim:
                stamp = datetime.strptime("%d %s" % (year, m.group(1)), "%Y %b %d %H:%M:%S.%f")
                t = stamp.replace(tzinfo=timezone.utc).timestamp()
                if t >= since:
                    times.append(t)
    return min(times) if times else None


def vms_where(info=None, truth=None):
    """``{vm name: [host names]}``: where each VM really runs, from the hypervisor truth
    (default: the lab's simulator, asked now)."""
    info = info or service.info()
    truth = truth or service.control().truth()
    hosts = {h["uuid"]: h["name"] for h in info["hosts"]}
    vms = {v["uuid"]: v["name"] for v in info["vms"]}
    where = {name: [] for name in vms.values()}
    for host_uuid, domains in truth["domains"].items():
        for vm_uuid in domains:
            if vm_uuid in vms:
                where[vms[vm_uuid]].append(hosts[host_uuid])
    return where


def violations():
    """What the hypervisor truth holds against the lab so far (empty lists: nothing):
    VMs that ran on two hosts at once, and times two masters accepted writes."""
    sim = service.control()
    return {"double runs": sim.double_runs(), "two masters": sim.masters_violations()}


def placement(lab):
    """``{host: [resource ids started there]}`` as Pacemaker reports it (clone instances
    included; promoted and unpromoted count as started)."""
    where = {h.name: [] for h in lab.hosts}
    root = lab.crm_mon()
    for rsc in [] if root is None else root.iter("resource"):
        for node in rsc.iterfind("node"):
            if rsc.get("role") in ("Started", "Promoted", "Unpromoted"):
                where.setdefault(node.get("name"), []).append(rsc.get("id"))
    return where


def promoted(lab, prefix="pool-master"):
    """The host where Pacemaker holds the role of ``prefix...`` Promoted, or None."""
    root = lab.crm_mon()
    for rsc in [] if root is None else root.iter("resource"):
        if rsc.get("id", "").startswith(prefix) and rsc.get("role") == "Promoted":
            return rsc.find("node").get("name")
    return None


# What the agents said ("xen-vm(vm-vm1)[123]: <date> INFO: ..."), but for probes finding
# nothing; the actions the DC initiated, role changes, failed operations, fences and
# membership changes, in a Pacemaker log.
STORY = re.compile(
    r"^[\w-]+\([\w:.-]+\)\[\d+\]:.* (INFO|WARNING|ERROR|CRIT): (?!VM \S+ has no domain|the "
    r"instance is not started)|"
    r"Initiating (start|stop|promote|demote|migrate_to|migrate_from) operation|"
    r"Result of (promote|demote) operation|"
    r"Result of \w+ operation for .*: (?!ok|not running|promoted|Cancelled)|"
    r"Operation '\w+' \[\d+\] targeting|"
    r"pacemaker-controld .*\(update_peer_state_iter\).* state is now (lost|member)"
)


def story(lines=40):
    """The last ``lines`` lines of each lab host's Pacemaker log that tell what the
    agents did and said, for the report of a failed lab test (the lab's state goes when
    the lab is taken down)."""
    from xenha.lab.hosts import STATE

    out = []
    for log in sorted(STATE.glob("host*/var/log/pacemaker/pacemaker.log")):
        told = [line for line in log.read_text(errors="replace").splitlines() if STORY.search(line)]
        out += ["== %s" % log.parts[len(STATE.parts)]] + told[-lines:]
    return "\n".join(out)
