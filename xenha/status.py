"""`xenha status`: one view of the cluster (crm_mon, the CIB) and of the pool (XAPI), the
drift between the two, and a verdict with crm_mon -s's exit codes.

Each source is read once; one that does not answer is reported as such ("cannot tell"),
never as empty. The view is data (:func:`gather`), judged by :func:`judge` and shown
by :func:`render` or as JSON.
"""

import textwrap
import time

from xenha.errors import XenhaError
from xenha.pacemaker import cib as pacemaker_cib
from xenha.pacemaker import parse_xml as _xml
from xenha.pacemaker import tool

OK, WARNING, CRITICAL = 0, 1, 2  # the exit codes of crm_mon -s (Nagios')
VERDICTS = {OK: "ok", WARNING: "warning", CRITICAL: "critical"}
VM_AGENT = "ocf:xenha:xen-vm"
MASTER_AGENT = "ocf:xenha:xapi-pool-master"
MOVE_PREFIXES = ("cli-prefer-", "cli-ban-")  # crm_resource --move/--ban constraints


def _true(elem, name):
    return elem.get(name) == "true"


# -- the cluster ------------------------------------------------------------------------


def cluster_view(mon_xml, cib_xml):
    """The cluster as ``crm_mon --output-as=xml`` and ``cibadmin --query`` say it."""
    mon, cib = _xml(mon_xml, "crm_mon's output"), _xml(cib_xml, "the CIB")
    dc = mon.find("summary/current_dc")
    nodes = [
        {
            "name": n.get("name"),
            "online": _true(n, "online"),
            "standby": _true(n, "standby") or _true(n, "standby_onfail"),
            "maintenance": _true(n, "maintenance"),
            "unclean": _true(n, "unclean"),
            "dc": _true(n, "is_dc"),
        }
        for n in mon.iterfind("nodes/node")
    ]
    running = {}  # resource id -> [(node, role)]
    for rsc in mon.iter("resource"):
        for node in rsc.iterfind("node"):
            running.setdefault(rsc.get("id"), []).append((node.get("name"), rsc.get("role")))
    failcounts = {}
    for node in mon.iterfind("node_history/node"):
        for hist in node.iterfind("resource_history"):
            count = hist.get("fail-count")
            if count and count != "0":
                failcounts.setdefault(hist.get("id"), {})[node.get("name")] = count
    failed = [
        {
            "op": f.get("op_key"),
            "node": f.get("node"),
            "status": f.get("exitstatus"),
            "reason": f.get("exitreason") or "",
            # Which run failed: a repeat of an old failure has a new call id and time.
            "call": f.get("call") or "",
            "when": f.get("last-rc-change") or "",
        }
        for f in mon.iterfind("failures/failure")
    ]
    fences = [
        {"target": e.get("target"), "action": e.get("action"), "status": e.get("status")}
        for e in mon.iterfind("fence_history/fence_event")
        if e.get("status") in ("pending", "failed")
    ]
    vms, options, master = {}, {}, None
    for prim in cib.iter("primitive"):
        agent = "%s:%s:%s" % (prim.get("class"), prim.get("provider"), prim.get("type"))
        params = {
            nv.get("name"): nv.get("value") for nv in prim.iterfind("instance_attributes/nvpair")
        }
        if agent == VM_AGENT:
            vms[prim.get("id")] = params.get("vm") or ""
            options[prim.get("id")] = _vm_options(prim)
        elif agent == MASTER_AGENT:
            master = params
    moves = sorted(
        c.get("id") for c in cib.iter("rsc_location") if c.get("id", "").startswith(MOVE_PREFIXES)
    )
    from xenha import maintenance

    return {
        "maintenance": maintenance.state(cib),
        "quorate": dc is not None and _true(dc, "with_quorum"),
        "dc": dc.get("name") if dc is not None and _true(dc, "present") else None,
        "nodes": nodes,
        "running": running,
        "failcounts": failcounts,
        "failed_actions": failed,
        "fences": fences,
        "move_constraints": moves,
        "vm_resources": vms,
        "vm_options": options,
        "master_params": master,
    }


def _vm_options(prim):
    """A VM resource's meta-attributes that decide how it moves: its priority (higher
    goes first) and whether it may migrate live (Pacemaker's allow-migrate)."""
    from xenha import values

    meta = {nv.get("name"): nv.get("value") for nv in prim.iterfind("meta_attributes/nvpair")}
    try:
        priority = values.integer(meta.get("priority") or 0)
    except ValueError:
        priority = 0
    return {"priority": priority, "migrate": values.is_true(meta.get("allow-migrate"))}


def read_cluster(timeout=15):
    mon = tool(["crm_mon", "--one-shot", "--output-as=xml", "--fence-history=1"], timeout)
    cib = pacemaker_cib("configuration", timeout)
    return cluster_view(mon, cib)


# -- the pool ---------------------------------------------------------------------------


def settings_of(params, timeout=10.0):
    """XAPI settings from the xapi-pool-master primitive's parameters (None: defaults)."""
    from xenha.pool_agent import CONNECTION_PARAMETERS
    from xenha.xapi import Settings

    given = dict(params or {})
    value = {p.name: given.get(p.name, p.default) for p in CONNECTION_PARAMETERS}
    return Settings(
        url=value["xapi_url"] or None,
        user=value["xapi_user"],
        password_file=value["xapi_password_file"] or None,
        ca_file=value["xapi_ca_file"] or None,
        fingerprint=value["xapi_fingerprint"] or None,
        insecure=(value["xapi_insecure"] or "false").lower() in ("true", "1", "yes", "on"),
        timeout=timeout,
    )


def read_pool(settings, vm_keys):
    """The pool master, its hosts and the VMs ``vm_keys`` (UUIDs or name-labels), as the
    master's database says."""
    from xenha.xapi import Client

    with Client(settings, originator="xenha-status", cache_dir=None) as c:
        api = c.xenapi
        names = {}
        hosts = []
        for ref, rec in sorted(
            api.host.get_all_records().items(), key=lambda i: i[1]["name_label"]
        ):
            names[ref] = rec["name_label"]
            metrics = rec.get("metrics")
            live = None
            if metrics and metrics != "OpaqueRef:NULL":
                live = bool(api.host_metrics.get_live(metrics))
            hosts.append(
                {
                    "name": rec["name_label"],
                    "uuid": rec["uuid"],
                    "address": rec["address"],
                    "enabled": bool(rec["enabled"]),
                    "maintenance": rec["other_config"].get("MAINTENANCE_MODE") == "true",
                    "live": live,
                    "memory_free": _free_memory(api, ref) if live else None,
                }
            )
        master = names.get(c.master())
        vms = {}
        for key in vm_keys:
            try:
                rec = api.VM.get_record(c.resolve_vm(key))
            except XenhaError as e:
                vms[key] = {"error": str(e)}
                continue
            vms[key] = {
                "name": rec["name_label"],
                "power": rec["power_state"],
                "host": names.get(rec["resident_on"]),
                # What the VM needs free on a host it starts on or migrates to, as xapi
                # checks it (memory_check.ml, default Dynamic_min policy).
                "memory": _memory_needed(rec),
            }
    return {"master": master, "hosts": hosts, "vms": vms}


def _memory_needed(rec):
    try:
        return int(rec["memory_dynamic_min"]) + int(rec["memory_overhead"])
    except (KeyError, TypeError, ValueError):
        return None


def _free_memory(api, host_ref):
    """The memory xapi would let VMs use on a host now (host.compute_free_memory:
    computed from the VMs resident and scheduled there, not the asynchronous
    host_metrics.memory_free); None when the host does not answer."""
    try:
        return int(api.host.compute_free_memory(host_ref))
    except (XenhaError, ValueError) as e:
        from xenha import log

        log.warning("host.compute_free_memory: %s", e)
        return None


# -- the view and its verdict -----------------------------------------------------------


def gather(read_cluster=read_cluster, read_pool=read_pool):
    """Both sources, each with its age and error."""
    view = {"cluster": None, "pool": None, "sources": {}}
    t = time.time()
    try:
        view["cluster"] = read_cluster()
        view["sources"]["cluster"] = {"ok": True, "read_at": t}
    except XenhaError as e:
        view["sources"]["cluster"] = {"ok": False, "read_at": t, "error": str(e)}
    cluster = view["cluster"] or {}
    t = time.time()
    try:
        settings = settings_of(cluster.get("master_params"))
        view["pool"] = read_pool(settings, sorted(set(cluster.get("vm_resources", {}).values())))
        view["sources"]["pool"] = {"ok": True, "read_at": t}
    except XenhaError as e:
        view["sources"]["pool"] = {"ok": False, "read_at": t, "error": str(e)}
    view["vms"] = _vms(view)
    problems = judge(view)
    view["problems"] = [{"severity": VERDICTS[level], "what": what} for level, what in problems]
    view["verdict"] = VERDICTS[max([OK] + [level for level, _ in problems])]
    return view


def exit_code(view):
    return {v: k for k, v in VERDICTS.items()}[view["verdict"]]


def nodes_of_hosts(cluster, pool):
    """{host name-label: node}: the pool-master primitive's host_map, else the name."""
    from xenha.pool_agent import parse_host_map

    try:
        mapping = parse_host_map((cluster.get("master_params") or {}).get("host_map", ""))
    except ValueError:
        mapping = {}
    nodes = {}
    for h in pool["hosts"]:
        node = next((n for n, key in mapping.items() if key in (h["name"], h["uuid"])), None)
        nodes[h["name"]] = node or h["name"]
    return nodes


def started_on(cluster, rid):
    """The nodes Pacemaker runs resource ``rid`` on (its Started instances)."""
    return [n for n, role in cluster["running"].get(rid, []) if role == "Started"]


def _vms(view):
    """Each protected VM: where Pacemaker runs it, where the pool says it runs (as the
    node of that host)."""
    cluster, pool = view["cluster"] or {}, view["pool"]
    node_of = nodes_of_hosts(cluster, pool) if pool is not None else {}
    rows = []
    for rid, key in sorted(cluster.get("vm_resources", {}).items()):
        row = {"id": rid, "vm": key, "pacemaker": started_on(cluster, rid), "failcounts": {}}
        row["failcounts"] = cluster["failcounts"].get(rid, {})
        if pool is not None:
            rec = pool["vms"].get(key, {})
            host = rec.get("host")
            row.update(
                {
                    "name": rec.get("name"),
                    "power": rec.get("power"),
                    "xapi": node_of.get(host, host),
                }
            )
            row["error"] = rec.get("error")
        rows.append(row)
    return rows


def judge(view):
    """[(level, what)]: what an operator must know, most severe first."""
    problems = [
        (CRITICAL, "cannot tell: the %s does not answer (%s)" % (name, source["error"]))
        for name, source in sorted(view["sources"].items())
        if not source["ok"]
    ]
    if view["cluster"] is not None:
        problems += _cluster_problems(view["cluster"])
    if view["pool"] is not None:
        problems += _pool_problems(view["pool"])
    problems += _vm_problems(view["vms"], view["pool"] is not None)
    return sorted(problems, key=lambda p: -p[0])


def _cluster_problems(cluster):
    if not cluster["quorate"]:
        yield CRITICAL, "the cluster has no quorum"
    m = cluster["maintenance"]
    if m["on"]:
        yield (
            WARNING,
            "maintenance is on%s: nothing is monitored or recovered"
            % (
                ""
                if m["manual"]
                else " until %s (%s)" % (_clock(m["until"]), m["reason"] or "no reason")
            ),
        )
    for n in cluster["nodes"]:
        if n["unclean"]:
            yield CRITICAL, "node %s is unclean (a fence is due)" % n["name"]
        elif not n["online"]:
            yield WARNING, "node %s is offline" % n["name"]
        elif n["standby"] or n["maintenance"]:
            state = "standby" if n["standby"] else "maintenance"
            yield WARNING, "node %s is in %s" % (n["name"], state)
    for f in cluster["fences"]:
        yield CRITICAL, "fencing of %s %s" % (f["target"], f["status"])
    for f in cluster["failed_actions"]:
        what = "failed action %s on %s: %s" % (f["op"], f["node"], f["status"])
        yield WARNING, what + (" (%s)" % f["reason"] if f["reason"] else "")
    for c in cluster["move_constraints"]:
        yield WARNING, "move constraint %s left (crm_resource --clear)" % c


def _pool_problems(pool):
    if pool["master"] is None:
        yield CRITICAL, "the pool has no master"
    for h in pool["hosts"]:
        if h["live"] is False:
            yield WARNING, "host %s is not live in the pool" % h["name"]
        if h["maintenance"]:
            yield WARNING, "host %s is in maintenance mode" % h["name"]
        elif not h["enabled"]:
            yield WARNING, "host %s is disabled" % h["name"]


def drifted(vm):
    """A VM row (:func:`_vms`) running in the pool elsewhere than the cluster runs it:
    moved outside the cluster."""
    where = vm["pacemaker"]
    running = not vm.get("error") and vm.get("power") == "Running"
    return bool(where) and running and [vm.get("xapi")] != where


def _vm_problems(vms, pool_read):
    for vm in vms:
        where = vm["pacemaker"]
        if not where:
            yield CRITICAL, "%s is not running in the cluster" % vm["id"]
        elif len(where) > 1:
            yield CRITICAL, "%s is active on %s" % (vm["id"], ", ".join(where))
        if not pool_read:
            continue
        if vm.get("error"):
            yield CRITICAL, "%s: %s" % (vm["id"], vm["error"])
        elif vm["power"] != "Running":
            yield CRITICAL, "%s is %s in the pool" % (vm["id"], vm["power"])
        elif drifted(vm):
            yield (
                WARNING,
                "%s runs on %s per the pool, on %s per the cluster (moved outside the "
                "cluster?)" % (vm["id"], vm["xapi"], ", ".join(where)),
            )


def _clock(epoch):
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


# -- showing it -------------------------------------------------------------------------


def render(view, color=False):
    """The view as text for a terminal, 80 columns."""
    colors = {"critical": "\033[31m", "warning": "\033[33m", "ok": "\033[32m"}
    paint = colors if color else {}
    reset = "\033[0m" if color else ""
    verdict = view["verdict"]
    out = ["%sxenha status: %s%s" % (paint.get(verdict, ""), verdict.upper(), reset)]
    cluster, pool = view["cluster"], view["pool"]
    if cluster is not None:
        quorum = "quorate" if cluster["quorate"] else "NO QUORUM"
        out.append("cluster: %s, DC %s" % (quorum, cluster["dc"] or "none"))
        for n in cluster["nodes"]:
            state = "online" if n["online"] else "OFFLINE"
            flags = [w for w in ("standby", "maintenance", "unclean") if n[w]]
            out.append("  node %-20s %s%s" % (n["name"], state, "".join(", " + f for f in flags)))
    if pool is not None:
        out.append("pool: master %s" % (pool["master"] or "NONE"))
        for h in pool["hosts"]:
            flags = [] if h["enabled"] else ["disabled"]
            flags += ["maintenance mode"] if h["maintenance"] else []
            flags += ["not live"] if h["live"] is False else []
            out.append(
                "  host %-20s %s%s" % (h["name"], h["address"], "".join(", " + f for f in flags))
            )
    if view["vms"]:
        out.append("%-24s %-14s %-14s %-9s %s" % ("VM", "cluster", "pool", "power", "fails"))
        for vm in view["vms"]:
            fails = ",".join("%s:%s" % i for i in sorted(vm["failcounts"].items())) or "-"
            out.append(
                "%-24s %-14s %-14s %-9s %s"
                % (
                    vm["id"][:24],
                    ",".join(vm["pacemaker"]) or "stopped",
                    vm.get("xapi") or "-",
                    vm.get("power") or "?",
                    fails,
                )
            )
    for p in view["problems"]:
        lines = textwrap.wrap("%s: %s" % (p["severity"], p["what"]), 80, subsequent_indent="  ")
        out.append("%s%s%s" % (paint.get(p["severity"], ""), "\n".join(lines), reset))
    return "\n".join(out) + "\n"


def _obj(props, required=None):
    return {
        "type": "object",
        "properties": props,
        "required": sorted(props) if required is None else required,
    }


_STR, _BOOL, _NULLSTR = {"type": "string"}, {"type": "boolean"}, {"type": ["string", "null"]}
_SOURCE = _obj(
    {"ok": _BOOL, "read_at": {"type": "number"}, "error": {"type": "string"}}, ["ok", "read_at"]
)
# The JSON that `xenha status --json` prints (JSON Schema, draft 7): its contract.
SCHEMA = _obj(
    {
        "verdict": {"enum": sorted(VERDICTS.values())},
        "sources": _obj({"cluster": _SOURCE, "pool": _SOURCE}),
        "problems": {
            "type": "array",
            "items": _obj({"severity": {"enum": sorted(VERDICTS.values())}, "what": _STR}),
        },
        "cluster": {
            "anyOf": [
                {"type": "null"},
                _obj(
                    {
                        "maintenance": _obj(
                            {
                                "on": _BOOL,
                                "manual": _BOOL,
                                "expired": _BOOL,
                                "until": {"type": ["number", "null"]},
                                "reason": _STR,
                                "by": _STR,
                                "since": _STR,
                            }
                        ),
                        "quorate": _BOOL,
                        "dc": _NULLSTR,
                        "nodes": {
                            "type": "array",
                            "items": _obj(
                                {
                                    "name": _STR,
                                    "online": _BOOL,
                                    "standby": _BOOL,
                                    "maintenance": _BOOL,
                                    "unclean": _BOOL,
                                    "dc": _BOOL,
                                }
                            ),
                        },
                        "running": {"type": "object"},
                        "failcounts": {"type": "object"},
                        "failed_actions": {"type": "array"},
                        "fences": {"type": "array"},
                        "move_constraints": {"type": "array", "items": _STR},
                        "vm_resources": {"type": "object"},
                        "vm_options": {"type": "object"},
                        "master_params": {"type": ["object", "null"]},
                    }
                ),
            ]
        },
        "pool": {
            "anyOf": [
                {"type": "null"},
                _obj(
                    {
                        "master": _NULLSTR,
                        "hosts": {
                            "type": "array",
                            "items": _obj(
                                {
                                    "name": _STR,
                                    "uuid": _STR,
                                    "address": _STR,
                                    "enabled": _BOOL,
                                    "maintenance": _BOOL,
                                    "live": {"type": ["boolean", "null"]},
                                    "memory_free": {"type": ["integer", "null"]},
                                }
                            ),
                        },
                        "vms": {"type": "object"},
                    }
                ),
            ]
        },
        "vms": {
            "type": "array",
            "items": _obj(
                {
                    "id": _STR,
                    "vm": _STR,
                    "pacemaker": {"type": "array", "items": _STR},
                    "failcounts": {"type": "object"},
                    "name": _NULLSTR,
                    "power": _NULLSTR,
                    "xapi": _NULLSTR,
                    "error": _NULLSTR,
                },
                ["id", "vm", "pacemaker", "failcounts"],
            ),
        },
    }
)
