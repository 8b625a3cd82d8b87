"""`xenha fence test NODE`: a fence drill that powers nothing; and the data of
`xenha fence history`.

A fence is only tested for real when it happens, and then it is too late to learn that
the BMC's password changed or that outlet 3 feeds another host. The drill asks every
device Pacemaker's fencer would use against a node for that node's power state: the
devices read from the CIB as the fencer reads them (:func:`levels_for`), each fence
agent run as the fencer runs it, with its CIB parameters and the node's plug on stdin,
but always with ``action=status`` (:func:`probe`). An answer proves that the device is
reachable from here, that its credentials work and that the plug names a machine; an
OFF for a node that is a cluster member proves that the plug names the wrong one.

What it does not prove: that OFF works (only a real fence switches anything), nor that
the node the fencer picks to run the fence reaches the device (the probe runs here).
A device that is a person (meatware) cannot be probed; it is reported as manual, neither
a success nor a failure.
"""

import os
import time

from xenha.errors import XenhaError

AGENT_DIR = "/usr/sbin"  # Pacemaker's PCMK__FENCE_BINDIR: the only place it runs RHCS agents
PROBE_TIMEOUT = 30.0  # seconds per device; a BMC answers a status within a few
WORKS, FAILS, MANUAL = "works", "fails", "manual"
OK, DEGRADED, FAILED = 0, 1, 2  # the exit codes of `xenha fence test`
VERDICTS = {OK: "ok", DEGRADED: "degraded", FAILED: "failed"}
# Devices whose "power state" is a person's confirmation: fence_xenha_meatware's status
# answers OFF only once someone confirmed a pending request (xenha/fencing/meatware.py,
# get_power) and fails otherwise, which says nothing about whether someone would answer.
MANUAL_AGENTS = {
    "fence_xenha_meatware": "a person is the device (xenha fence confirm): no probe possible",
}
# Instance attributes Pacemaker interprets itself and never passes to the agent
# (lib/common/agents.c, pcmk_stonith_param; lib/fencing/st_actions.c, append_config_arg),
# and the action: the drill sends its own, status. "option" is fence-agents' (and
# xenha's) other name for the action: a CIB that sets it would turn the probe into a
# fence, so it is never passed either.
_PACEMAKER_PARAMS = ("provides", "stonith-timeout", "crm_feature_set")
_ACTION_KEYS = ("action", "option")
_PLUG_KEYS = ("plug", "port")  # fence-agents' names of the target, one option
STDERR_SHOWN = 400  # characters of a failed agent's stderr in the result


# -- the CIB as the fencer reads it ---------------------------------------------------


def _nvpairs(elem, tag):
    """The name/value pairs of ``elem``'s ``tag`` sets; the first set that names a key wins
    (Pacemaker reads a fencing resource's single set; rules are not evaluated)."""
    pairs = {}
    for nvset in elem.findall(tag):
        for nv in nvset.iter("nvpair"):
            pairs.setdefault(nv.get("name"), nv.get("value", ""))
    return pairs


def _words(text):
    """A Pacemaker host list: names separated by spaces, commas or semicolons."""
    for sep in ",;":
        text = text.replace(sep, " ")
    return text.split()


def parse_host_map(text):
    """``{node (lower case): plug}`` of a ``pcmk_host_map`` such as ``node1:1;node2:2,3``:
    pairs separated by ``;``, spaces or tabs, name and value by ``:`` or ``=``, a
    backslash escaping the next character (fenced_commands.c, build_port_aliases)."""
    aliases, name, word, i = {}, None, "", 0
    text = text or ""
    while i <= len(text):
        c = text[i] if i < len(text) else ";"
        if c == "\\" and i + 1 < len(text):
            word += text[i + 1]
            i += 2
            continue
        if c in ":=" and name is None:
            name, word = word, ""
        elif c in "; \t":
            if name:
                aliases[name.lower()] = word
            name, word = None, ""
        else:
            word += c
        i += 1
    return aliases


def _is_pacemaker_param(name):
    return name in _PACEMAKER_PARAMS or name.startswith("pcmk_") or "CRM_meta" in name


def _stonith_primitives(root):
    return [p for p in root.iter("primitive") if p.get("class") == "stonith"]


def _node_attributes(root, node):
    for n in root.iter("node"):
        if n.get("uname") == node:
            return _nvpairs(n, "instance_attributes")
    return {}


def _topology(root, node):
    """``[(index, [device id])]`` of the fencing levels that apply to ``node``, in the
    order the fencer tries them; None when the node has no topology.

    Pacemaker Explained, "Fencing Topologies": levels are tried in ascending ``index``;
    a level passes when every one of its devices succeeds, and the first level that
    passes ends the fence. A node's levels are those of the first target that matches it
    (fenced_remote.c, find_topology_for_host): its name (``target``), else a
    ``target-pattern`` (an extended regular expression; Python's ``re`` reads the
    patterns one writes for node names alike) or a ``target-attribute`` set to
    ``target-value`` on the node: the fencer takes the first of those in a hash table's
    order, which it does not define; the drill the first in the CIB.
    """
    import re

    levels = [lv for lv in root.iter("fencing-level") if lv.get("devices")]
    attributes = _node_attributes(root, node)

    def key(lv):
        if lv.get("target") is not None:
            return ("target", lv.get("target"))
        if lv.get("target-pattern") is not None:
            return ("pattern", lv.get("target-pattern"))
        return ("attribute", lv.get("target-attribute"), lv.get("target-value"))

    def matches(k):
        if k[0] == "target":
            return k[1] == node
        if k[0] == "pattern":
            try:
                return re.search(k[1], node) is not None
            except re.error:
                return False
        return k[1] is not None and attributes.get(k[1]) == k[2]

    keys = [key(lv) for lv in levels]
    chosen = next((k for k in keys if k == ("target", node)), None)
    if chosen is None:
        chosen = next((k for k in keys if k[0] != "target" and matches(k)), None)
    if chosen is None:
        return None
    by_index = {}
    for lv, k in zip(levels, keys):
        if k == chosen:
            by_index[int(lv.get("index", "0"))] = [d for d in lv.get("devices").split(",") if d]
    return sorted(by_index.items())


def _can_fence(params, node):
    """Whether the device's own settings let the fencer use it against ``node``: True,
    False, or None when only the device can tell (Pacemaker Explained,
    pcmk_host_check: static-list when pcmk_host_list or pcmk_host_map is set, else the
    agent's list or status action; none: every node)."""
    check = params.get("pcmk_host_check")
    listed = params.get("pcmk_host_list") or params.get("pcmk_host_map")
    if check is None:
        check = "static-list" if listed else "dynamic-list"
    if check == "none":
        return True
    if check == "static-list":
        hosts = {h.lower() for h in _words(params.get("pcmk_host_list", ""))}
        return node.lower() in hosts or node.lower() in parse_host_map(params.get("pcmk_host_map"))
    return None


def _plug(params, node):
    """The host argument the fencer passes, its value, and where the value comes from
    (lib/fencing/st_actions.c, make_args): ``pcmk_host_argument``, else ``plug`` (every
    fence-agents and xenha agent declares it; Pacemaker 2.1 names it ``port``, the same
    option); a value the CIB sets for it is kept (unless ``dynamic``), else the node's
    ``pcmk_host_map`` entry, else the node's name. ``(None, None, "none")`` when
    ``pcmk_host_argument=none``."""
    arg = params.get("pcmk_host_argument") or "plug"
    if arg.lower() == "none":
        return None, None, "none"
    names = _PLUG_KEYS if arg in _PLUG_KEYS else (arg,)
    configured = next((params[n] for n in names if params.get(n)), None)
    if configured is not None and configured.lower() != "dynamic":
        return arg, configured, "cib"
    mapped = parse_host_map(params.get("pcmk_host_map")).get(node.lower())
    if mapped is not None:
        return arg, mapped, "pcmk_host_map"
    return arg, node, "node name"


def _two_targets(params, node):
    """Why the agent may get two targets, or None. The fencer adds its host argument
    unless the CIB sets that very parameter, and fence-agents' plug and port are one
    option: Pacemaker 2.1 passes port (for an agent that declares it), later versions
    plug. A CIB that sets the other one then reaches the agent with both, in a hash
    table's order, and the agent takes the last."""
    if params.get("pcmk_host_argument"):
        return None
    given = [k for k in _PLUG_KEYS if params.get(k) and params[k].lower() != "dynamic"]
    if len(given) != 1:
        return None
    other = "port" if given[0] == "plug" else "plug"
    return (
        "the CIB sets %s=%s without pcmk_host_argument: a Pacemaker that passes the target "
        "as %s (2.1 does when the agent declares port) also sends %s=%s, and the agent takes "
        "whichever line comes last; pcmk_host_argument=%s makes it %s alone"
        % (given[0], params[given[0]], other, other, node, given[0], given[0])
    )


def _describe(prim, node, level):
    """A device as the fencer would use it against ``node``, with its raw parameters."""
    params = _nvpairs(prim, "instance_attributes")
    meta = _nvpairs(prim, "meta_attributes")
    arg, plug, plug_from = _plug(params, node)
    agent_params = {
        k: v
        for k, v in params.items()
        if not _is_pacemaker_param(k)
        and k not in _ACTION_KEYS
        and not (plug_from in ("pcmk_host_map", "node name") and k in _PLUG_KEYS + (arg,))
    }
    can = _can_fence(params, node)
    disabled = meta.get("target-role", "").lower() == "stopped"
    problem = None
    if can is False:
        problem = "pcmk_host_list/pcmk_host_map does not name %s: the fencer would not use it"
        problem %= node
    elif disabled:
        problem = "disabled (target-role=Stopped): no node may use it"
    return {
        "id": prim.get("id"),
        "agent": prim.get("type") or "",
        "level": level,
        "params": agent_params,
        "host_argument": arg,
        "plug": plug,
        "plug_from": plug_from,
        "problem": problem,
        "warning": _two_targets(params, node),
        "disabled": disabled,
        "asked": can is None,  # the fencer asks the device whether it fences the node
    }


def _missing(rid, level):
    return {
        "id": rid,
        "agent": "",
        "level": level,
        "params": {},
        "host_argument": None,
        "plug": None,
        "plug_from": "none",
        "problem": "no fence device %s in the CIB" % rid,
        "warning": None,
        "disabled": False,
        "asked": False,
    }


def _levels(root, node):
    """The levels with each device's raw parameters (secrets among them), and notes."""
    prims = _stonith_primitives(root)
    by_id = {p.get("id"): p for p in prims}
    notes = []
    topology = _topology(root, node)
    if topology is not None:
        levels = [
            [_describe(by_id[d], node, i) if d in by_id else _missing(d, i) for d in devices]
            for i, devices in topology
        ]
        notes += [_asks_the_device(d["id"], node) for lv in levels for d in lv if d["asked"]]
        notes += ["%s: %s" % (d["id"], d["warning"]) for lv in levels for d in lv if d["warning"]]
        return levels, True, notes
    # No topology: the fencer tries the devices that can fence the node one after the
    # other until one succeeds (fenced_commands.c: the next capable device after a
    # failure), so each is a level of its own.
    levels = []
    for prim in prims:
        d = _describe(prim, node, len(levels) + 1)
        if d["asked"]:
            notes.append(_asks_the_device(d["id"], node) + "; not probed")
        elif d["problem"] is None:
            levels.append([d])
            if d["warning"]:
                notes.append("%s: %s" % (d["id"], d["warning"]))
        elif d["disabled"] and d["problem"].startswith("disabled"):  # it names the node
            notes.append(
                "%s could fence %s but is disabled (target-role=Stopped)" % (d["id"], node)
            )
    return levels, False, notes


def _asks_the_device(rid, node):
    return (
        "%s sets neither pcmk_host_list nor pcmk_host_map: the fencer asks the device itself "
        "whether it fences %s (pcmk_host_check)" % (rid, node)
    )


def _shown(params):
    return {k: ("***" if _is_secret(k) else v) for k, v in params.items()}


def _is_secret(name):
    """A parameter that holds a secret itself (not a path to one): fence-agents' and
    xenha's ``password``/``passwd``, ``community``, ``snmp_priv_passwd`` and the like."""
    name = name.lower()
    if name.endswith(("_file", "_script", "_path")):
        return False
    return any(w in name for w in ("passw", "community", "secret", "token", "key"))


def levels_for(cib_root, node):
    """The devices Pacemaker's fencer would use against ``node``: an ordered list of
    levels, each a list of device descriptions (``id``, ``agent``, ``level`` (the
    fencing-level index), ``params`` (those the agent gets, secrets shown as ``***``),
    ``host_argument``, ``plug`` and ``plug_from``: what the fencer passes as the target,
    ``problem``: why the fencer would not use the device, or None). ``cib_root``: the
    ``cib`` or ``configuration`` element. An empty list: nothing can fence the node."""
    levels, _, _ = _levels(cib_root, node)
    return [[dict(d, params=_shown(d["params"])) for d in level] for level in levels]


# -- asking the devices ---------------------------------------------------------------


def _agent_path(agent, agent_dir):
    """Where the agent is, and why the fencer could not run it (None: it could)."""
    import shutil

    path = os.path.join(agent_dir, agent)
    if agent and "/" not in agent and os.path.isfile(path) and os.access(path, os.X_OK):
        return path, None
    found = shutil.which(agent) if agent and "/" not in agent else None
    if found:
        return found, "not in %s, where Pacemaker's fencer runs agents" % agent_dir
    return None, "fence agent %r is not installed (no %s)" % (agent, path)


def _stdin(device, node):
    """The agent's key=value lines as the fencer writes them, but with action=status, last
    so that it is the action whatever came before."""
    lines = ["%s=%s" % kv for kv in sorted(device["params"].items())]
    lines.append("nodename=%s" % node)
    if device["plug_from"] not in ("cib", "none"):
        lines.append("%s=%s" % (device["host_argument"], device["plug"]))
    lines.append("action=status")
    return "".join(line + "\n" for line in lines)


def _masked(text, params):
    """``text`` with every secret value of ``params`` replaced by ``***``."""
    for k, v in params.items():
        if _is_secret(k) and v:
            text = text.replace(v, "***")
    return text


def _probe_device(device, node, timeout, agent_dir, members):
    from xenha.process import CommandTimeout, run

    result = dict(device, params=_shown(device["params"]), ok=False, state=None)
    result.update(manual=False, exit_code=None, stderr="", seconds=0.0)
    if device["agent"] in MANUAL_AGENTS and not device["problem"]:
        result.update(manual=True, message=MANUAL_AGENTS[device["agent"]])
        return result
    if device["problem"]:
        result["message"] = device["problem"]
        return result
    broken = [k for k, v in device["params"].items() if "\n" in v or "\r" in v]
    if broken:
        result["message"] = "parameter %s holds a line break: not run" % broken[0]
        return result
    path, unusable = _agent_path(device["agent"], agent_dir)
    if path is None:
        result["message"] = unusable
        return result
    started = time.monotonic()
    try:
        rc, out, err = run([path], timeout, input=_stdin(device, node))
    except CommandTimeout:
        result["message"] = "no answer to status within %gs (the agent was killed)" % timeout
        return result
    except OSError as e:
        result["message"] = "cannot run %s: %s" % (path, e.strerror or e)
        return result
    finally:
        result["seconds"] = round(time.monotonic() - started, 3)
    err = _masked(err.strip(), device["params"])
    result["exit_code"] = rc
    if rc not in (0, 2):
        result["stderr"] = err[-STDERR_SHOWN:]
        last = err.splitlines()[-1] if err else "no message"
        result["message"] = "status failed (exit %d): %s" % (rc, last[-200:])
        if unusable:
            result["message"] += "; and it is " + unusable
        return result
    state = "on" if rc == 0 else "off"
    result["state"] = state
    plug = "%s=%s" % (device["host_argument"], device["plug"]) if device["plug"] else "no plug"
    if state == "off" and members is not None and node in members:
        result["message"] = (
            "answered OFF, but %s is a cluster member now: the plug/port mapping (%s, from "
            "%s) is probably wrong, and this device would power off another machine or "
            "nothing" % (node, plug, device["plug_from"])
        )
        return result
    result["ok"] = unusable is None
    if unusable:
        result["message"] = "answered %s, but the fencer could not run it: it is %s" % (
            state.upper(),
            unusable,
        )
    elif state == "off":
        why = "not a cluster member" if members is not None else "membership unknown"
        result["message"] = "answered OFF (%s: %s)" % (plug, why)
    else:
        result["message"] = "answered ON (%s)" % plug
    return result


def _level_verdict(devices):
    if any(not d["ok"] and not d["manual"] for d in devices):
        return FAILS
    if any(d["manual"] for d in devices):
        return MANUAL
    return WORKS


def _here():
    from xenha import pacemaker

    try:
        return pacemaker.node_name()
    except XenhaError:
        return os.uname()[1]


def probe(node, cib_xml=None, timeout=PROBE_TIMEOUT, agent_dir=None, members=None):
    """Ask every device of every level of ``node`` for the node's power state (status
    only: nothing is ever switched). ``cib_xml``: the CIB's text (default: ``cibadmin
    --query``); ``timeout``: seconds per device; ``agent_dir``: where the agents are
    (default :data:`AGENT_DIR`, then PATH); ``members``: the cluster's members now
    (default: ``crm_node -l``; None when it cannot tell).

    Returns a dict: ``node``, ``from`` (where the probe ran), ``topology`` (levels from
    fencing-topology, else one level per capable device), ``members``, ``levels``
    (``index``, ``verdict``: works, fails or manual, ``devices``: each device's
    description as :func:`levels_for` gives it with ``ok``, ``state`` (on, off, None),
    ``manual``, ``message``, ``exit_code``, ``stderr``, ``seconds``), ``notes``,
    ``verdict`` (ok, degraded, failed: :func:`exit_code`) and ``summary``.
    """
    from xenha import pacemaker

    notes = []
    if cib_xml is None:
        cib_xml = pacemaker.cib("configuration")
    root = pacemaker.parse_xml(cib_xml, "the CIB")
    if members is None:
        try:
            members = pacemaker.members()
        except XenhaError as e:
            notes.append("cluster membership unknown (%s): an OFF cannot be checked" % e)
    here = _here()
    levels, topology, found = _levels(root, node)
    notes += found
    agent_dir = AGENT_DIR if agent_dir is None else agent_dir
    shown = []
    for devices in levels:
        results = [_probe_device(d, node, timeout, agent_dir, members) for d in devices]
        shown.append(
            {"index": devices[0]["level"], "verdict": _level_verdict(results), "devices": results}
        )
    if here == node:
        notes.append(
            "probed from %s itself: the fencer runs a node's fence from another node" % node
        )
    result = {
        "node": node,
        "from": here,
        "topology": topology,
        "members": sorted(members) if members is not None else None,
        "levels": shown,
        "notes": notes,
    }
    code, result["summary"] = _verdict(node, shown, root)
    result["verdict"] = VERDICTS[code]
    return result


def _verdict(node, levels, root):
    works = [lv["index"] for lv in levels if lv["verdict"] == WORKS]
    fails = [lv["index"] for lv in levels if lv["verdict"] == FAILS]
    if not levels:
        nodes = sorted(n.get("uname") for n in root.iter("node") if n.get("uname"))
        known = (
            ""
            if not nodes or node in nodes
            else " (not a node of this CIB: %s)" % (", ".join(nodes))
        )
        return FAILED, "no fence device can fence %s%s: Pacemaker cannot fence it" % (node, known)
    if not works:
        if not fails:
            return FAILED, "no level could be probed: every level needs a person"
        return FAILED, "no level works: fencing %s would fail now" % node
    failing = "level%s %s fail%s" % (
        "s" if len(fails) > 1 else "",
        ", ".join(map(str, fails)),
        "" if len(fails) > 1 else "s",
    )
    if fails and fails[0] < works[0]:
        return DEGRADED, "%s: fencing %s would fall back to level %d" % (failing, node, works[0])
    if fails:
        return DEGRADED, "%s: fencing %s works through level %d, without that fallback" % (
            failing,
            node,
            works[0],
        )
    manual = [lv["index"] for lv in levels if lv["verdict"] == MANUAL]
    if manual:
        return OK, "every level answers but level %s: a person, who cannot be probed" % (
            ", ".join(map(str, manual))
        )
    return OK, "every level answers"


def can_fence(result):
    """Whether fencing the node can succeed now: a level works, or every level is a
    person's (meatware), whom no probe can ask."""
    levels = result["levels"]
    return (
        exit_code(result) < FAILED or bool(levels) and all(lv["verdict"] == MANUAL for lv in levels)
    )


def exit_code(result):
    """0 when every level works, 1 when one fails but another works, 2 when none works."""
    return {v: k for k, v in VERDICTS.items()}[result["verdict"]]


# -- showing it -----------------------------------------------------------------------

WIDTH = 80


def _wrap(text, indent):
    import textwrap

    return textwrap.wrap(
        text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False
    )


def render(result):
    """The drill's result as text, 80 columns."""
    code = exit_code(result)
    head = {OK: "OK", DEGRADED: "DEGRADED", FAILED: "FAILED"}[code]
    out = _wrap("xenha fence test %s: %s, %s" % (result["node"], head, result["summary"]), "")
    out += _wrap("probed from %s with action=status only: nothing was powered" % result["from"], "")
    kind = "fencing-topology level %d: %s" if result["topology"] else "alternative %d: %s"
    if result["levels"] and not result["topology"]:
        out += _wrap(
            "no fencing-topology for %s: the fencer tries each device that can fence it "
            "until one succeeds" % result["node"],
            "",
        )
    for level in result["levels"]:
        out.append(kind % (level["index"], level["verdict"].upper()))
        for d in level["devices"]:
            plug = (
                "%s=%s (%s)" % (d["host_argument"], d["plug"], d["plug_from"]) if d["plug"] else ""
            )
            out += _wrap(" ".join(w for w in (d["id"], d["agent"], plug) if w), "  ")
            params = " ".join("%s=%s" % kv for kv in sorted(d["params"].items()))
            if params:
                out += _wrap(params, "    ")
            mark = "ok" if d["ok"] else "manual" if d["manual"] else "FAILED"
            if d["exit_code"] is not None:
                mark += " (%.1fs)" % d["seconds"]
            out += _wrap("%s: %s" % (mark, d["message"]), "    ")
            lines = d["stderr"].splitlines()
            if not d["ok"] and len(lines) > 1:  # the last one is in the message
                for line in lines[-6:-1]:
                    out += _wrap("| " + line, "      ")
    for note in result["notes"]:
        out += _wrap("note: " + note, "")
    out += _wrap(
        "note: the fencer may run the real fence from another node, and an answer to "
        "status does not prove that OFF works.",
        "",
    )
    return "\n".join(out) + "\n"


def history(events):
    """The fencing history (:class:`xenha.pacemaker.FenceEvent`) as data."""
    return [e.as_dict() for e in events]


def _requester(event):
    """Who asked: the client without its pid (``pacemaker-controld``), on which node."""
    client = (event["client"] or "").rsplit(".", 1)
    name = client[0] if len(client) == 2 and client[1].isdigit() else event["client"]
    if name and event["origin"]:
        return "%s@%s" % (name.replace("pacemaker-", ""), event["origin"])
    return name or event["origin"] or "?"


def render_history(events, node=None):
    """The history rows as text, 80 columns: newest first as the fencer lists them."""
    if not events:
        return "no fencing recorded%s\n" % (" against " + node if node else "")
    rows = [("TARGET", "ACTION", "STATUS", "COMPLETED", "EXECUTED BY", "ASKED BY")]
    for e in events:
        when = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e["completed"]))
            if e["completed"] is not None
            else "-"
        )
        rows.append(
            (e["target"], e["action"], e["status"], when, e["delegate"] or "-", _requester(e))
        )
    widths = [max(len(r[i] or "") for r in rows) for i in range(5)]
    out = []
    for row, e in zip(rows, [None] + list(events)):
        line = "  ".join((v or "").ljust(w) for v, w in zip(row, widths)) + "  " + row[5]
        out += _wrap(line, "") if len(line) > WIDTH else [line]
        if e is not None and e["exit_reason"]:
            out += _wrap("reason: " + e["exit_reason"], "  ")
    return "\n".join(out) + "\n"


# -- the JSON's contract (JSON Schema, draft 7) ---------------------------------------

_STR, _BOOL, _NULLSTR = {"type": "string"}, {"type": "boolean"}, {"type": ["string", "null"]}


def _obj(props):
    return {"type": "object", "properties": props, "required": sorted(props)}


_DEVICE = _obj(
    {
        "id": _STR,
        "agent": _STR,
        "level": {"type": "integer"},
        "params": {"type": "object", "additionalProperties": _STR},
        "host_argument": _NULLSTR,
        "plug": _NULLSTR,
        "plug_from": {"enum": ["cib", "pcmk_host_map", "node name", "none"]},
        "problem": _NULLSTR,
        "warning": _NULLSTR,
        "disabled": _BOOL,
        "asked": _BOOL,
        "ok": _BOOL,
        "state": {"enum": ["on", "off", None]},
        "manual": _BOOL,
        "message": _STR,
        "exit_code": {"type": ["integer", "null"]},
        "stderr": _STR,
        "seconds": {"type": "number"},
    }
)
# The JSON that `xenha fence test --json` prints: its contract.
SCHEMA = _obj(
    {
        "node": _STR,
        "from": _STR,
        "topology": _BOOL,
        "members": {"anyOf": [{"type": "null"}, {"type": "array", "items": _STR}]},
        "levels": {
            "type": "array",
            "items": _obj(
                {
                    "index": {"type": "integer"},
                    "verdict": {"enum": [WORKS, FAILS, MANUAL]},
                    "devices": {"type": "array", "items": _DEVICE, "minItems": 1},
                }
            ),
        },
        "notes": {"type": "array", "items": _STR},
        "verdict": {"enum": sorted(VERDICTS.values())},
        "summary": _STR,
    }
)
# The JSON that `xenha fence history --json` prints.
HISTORY_SCHEMA = _obj(
    {
        "node": _NULLSTR,
        "events": {
            "type": "array",
            "items": _obj(
                {
                    "target": _STR,
                    "action": _STR,
                    "status": {"enum": ["success", "failed", "pending"]},
                    "completed": {"type": ["integer", "null"]},
                    "delegate": _NULLSTR,
                    "origin": _NULLSTR,
                    "client": _NULLSTR,
                    "exit_reason": _NULLSTR,
                }
            ),
        },
    }
)
