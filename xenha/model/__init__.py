"""The cluster description: one YAML file, checked here, turned into crm configuration by xenha.crm.

``load(path)`` returns plain dicts and lists with every default filled in, or
raises :class:`ModelError` naming file, line and key. The schema below is the
reference for the file format (docs/configuration.md explains it).
"""

import re

from xenha.crm import agents, totem
from xenha.model.schema import Field, check_map
from xenha.model.source import ModelError, parse, read

__all__ = ["ModelError", "load", "loads", "resource_id"]

S, I, B, D = "str", "int", "bool", "duration"  # noqa: E741


def _list(item):
    return Field("list", item=item)


def _map(spec, **kw):
    return Field("map", spec=spec, **kw)


FENCE_DEVICE = dict(
    {p: Field(S) for p in agents.FENCE_PARAMS},
    device=Field(S, required=True, choices=agents.FENCE_DEVICES, doc="the fence device type"),
    level=Field(I, doc="fencing level; devices with the same level must all succeed"),
    ssl_insecure=Field(B),
    power_timeout=Field("timeout"),
    power_wait=Field("seconds"),
    **{alias: Field(S) for alias in agents.FENCE_ALIASES},
)

NODE = {
    "name": Field(S, required=True, doc="the Pacemaker/Corosync node name"),
    "host": Field(S, doc="pool host UUID or unique name-label (default: the node name)"),
    "address": Field(S, required=True, doc="the node's cluster (corosync ring0) address"),
    "fencing": _list(_map(FENCE_DEVICE)),
    "allow_no_fencing": Field(B, default=False),
    "allow_pool_only_fencing": Field(B, doc="default: cluster.allow_pool_only_fencing"),
}
# Fence devices that reach their target through an address, and what that address is.
FENCE_ADDRESS = {
    "ilo": "the ilo device's address",
    "drac": "the drac device's address",
    "irmc": "the irmc device's address",
    "apc": "the PDU's address",
    "xapi": "the pool's XAPI endpoint that declares the host dead; the client follows the master",
    "xvm": "the Dom0's XAPI address",
}

VM = {
    "vm": Field(S, required=True, doc="VM UUID (or unique name-label)"),
    "name": Field(S, doc="short name for the resource id"),
    "id": Field(S, doc="Pacemaker resource id (default vm-NAME)"),
    "priority": Field(I, default=0),
    "start_after": _list(Field(S)),
    "migrate": Field(B, default=True),
    "preferred_host": Field(S),
    "check_guest": Field(B, default=False),
    "shutdown_timeout": Field(I),
    "uses_storage": Field(B),
}

SPEC = {
    "cluster": _map(
        {
            "name": Field(S, required=True, doc="the cluster name"),
            "nodes": _list(_map(NODE)),
            "allow_pool_only_fencing": Field(B, default=False),
            "token_ms": Field(
                I, default=totem.DEFAULT_TOKEN_MS, doc="corosync's token timeout (ms)"
            ),
        },
        required=True,
    ),
    "quorum": _map(
        {
            "mode": Field(S, choices=("two_node", "qdevice", "majority")),
            "no_quorum_policy": Field(S, default="stop", choices=("stop", "freeze", "suicide")),
            "qdevice": _map(
                {
                    "host": Field(S, doc="the corosync-qnetd arbiter's address"),
                    "algorithm": Field(S, default="ffsplit", choices=("ffsplit", "lms")),
                    "tie_breaker": Field(S, default="lowest"),
                    "heuristics": _list(Field(S)),
                    "heuristics_mode": Field(S, default="sync", choices=("sync", "on", "off")),
                }
            ),
        }
    ),
    "connectivity": _map(
        {
            "ping": _list(Field(S)),
            "multiplier": Field(I, default=1000),
            "dampen": Field(D, default="5s"),
            "on_loss": Field(S, default="move", choices=("move", "stop")),
        }
    ),
    "fencing": _map(
        {
            "race_delay": Field(D, default="15s"),
            "timeout": Field(D, default="90s"),
        }
    ),
    "pool": _map(
        {
            "xapi": _map(
                {
                    "url": Field(S, doc="empty: the host's local XAPI socket"),
                    "user": Field(S),
                    "password_file": Field(S),
                    "ca_file": Field(S),
                    "fingerprint": Field(S),
                    "insecure": Field(B),
                }
            ),
            "mode": Field(S, default="vms", choices=("vms", "appliances")),
            "protect": Field(S, default="flagged", choices=("all", "flagged")),
            "flag_field": Field(S, default="ha-lizard-enabled"),
            "excluded_appliances": _list(Field(S)),
        }
    ),
    "vms": _list(_map(VM)),
    "appliances": _list(
        _map(
            {
                "name": Field(S, required=True, doc="the appliance (vApp) name"),
                "uuid": Field(S),
                "vms": _list(_map(VM)),
            }
        )
    ),
    "storage": _map(
        {
            "drbd_resources": _list(Field(S)),
            "target_iqn": Field(S, required=True, doc="the iSCSI target IQN"),
            "ip": Field(S, required=True, doc="the floating IP the SR points at"),
            "cidr_netmask": Field(I, required=True, doc="the floating IP's prefix length"),
            "nic": Field(S, required=True, doc="the interface for the floating IP"),
            "sr_uuid": Field(S, required=True, doc="the iSCSI SR's UUID"),
        },
        default=False,
    ),
    "alerts": _map(
        {
            "recipients": _list(Field(S)),
            "smtp": _map(
                {
                    "server": Field(S, default="localhost"),
                    "port": Field(I, default=25),
                    "user": Field(S),
                    "password_file": Field(S),
                    "starttls": Field(B, default=False),
                    "from": Field(S),
                }
            ),
            "suppress_minutes": Field(I, default=60),
        },
        default=False,
    ),
    "resources": _map(
        {
            "stickiness": Field(I, default=1000),
            "migration_threshold": Field(I, default=3),
            "failure_timeout": Field(D, default="10min"),
        }
    ),
}

_ID = re.compile(r"[^A-Za-z0-9_.-]+")
_VALID_ID = re.compile(r"^vm-[A-Za-z0-9_.-]+$")  # the connectivity rule matches ids by ^vm-


def resource_id(vm):
    """The Pacemaker id of a VM entry: ``id``, else ``vm-`` + its name (or the VM reference)."""
    if vm.get("id"):
        return vm["id"]
    return "vm-" + (_ID.sub("-", vm.get("name") or vm["vm"]).strip("-") or "x")


def loads(text, filename="<string>"):
    """Check a description given as YAML text."""
    return _validate(parse(text, filename))


def load(path):
    """Check the description in the YAML file at ``path``."""
    return _validate(read(path))


def _validate(source):
    data = source.data
    if not isinstance(data, dict):
        raise source.error((), "the description must be a mapping with a 'cluster' key")
    data = dict(data)
    for section in ("vms",):
        if isinstance(data.get(section), list):
            data[section] = [_vm_shorthand(v) for v in data[section]]
    for app in data.get("appliances") or []:
        if isinstance(app, dict) and isinstance(app.get("vms"), list):
            app["vms"] = [_vm_shorthand(v) for v in app["vms"]]
    model = check_map(source, data, SPEC, ())
    _check_nodes(source, model)
    _check_quorum(source, model)
    _check_vms(source, model)
    if model["alerts"] and not model["alerts"]["recipients"]:
        raise source.error(("alerts",), "missing key 'recipients' (e-mail addresses)")
    smtp = model["alerts"]["smtp"] if model["alerts"] else None
    if smtp and smtp["user"] and not (smtp["starttls"] and smtp["password_file"]):
        raise source.error(
            ("alerts", "smtp"),
            "a user needs starttls: true and a password_file (alert-email sends the "
            "password only over TLS)",
        )
    if model["storage"]:
        if len(model["cluster"]["nodes"]) != 2:
            raise source.error(("storage",), "replicated storage needs exactly 2 nodes")
        if not model["storage"]["drbd_resources"]:
            raise source.error(("storage",), "missing key 'drbd_resources' (DRBD resource names)")
    return model


def _vm_shorthand(entry):
    """A bare string in a VM list means ``{vm: <string>}``."""
    return {"vm": entry} if isinstance(entry, (str, int)) and not isinstance(entry, bool) else entry


def _check_nodes(source, model):
    nodes = model["cluster"]["nodes"]
    if len(nodes) < 2:
        raise source.error(("cluster", "nodes"), "at least 2 nodes are needed, got %d" % len(nodes))
    _unique(source, nodes, "name", ("cluster", "nodes"))
    _unique(source, nodes, "address", ("cluster", "nodes"))
    if not 500 <= model["cluster"]["token_ms"] <= 60000:
        raise source.error(
            ("cluster", "token_ms"),
            "%d is outside 500..60000: a shorter token fences hosts on a network hiccup"
            % model["cluster"]["token_ms"],
        )
    for i, node in enumerate(nodes):
        path = ("cluster", "nodes", i)
        node["host"] = node["host"] or node["name"]
        if not node["fencing"] and not node["allow_no_fencing"]:
            raise source.error(
                path,
                "node %r has no fence device; add one under 'fencing' (a node that cannot be "
                "fenced blocks recovery of everything it ran), or set allow_no_fencing: true "
                "to accept that" % node["name"],
            )
        for j, dev in enumerate(node["fencing"]):
            _check_fence_device(source, dev, path + ("fencing", j))
            if dev["device"] == "xapi" and dev["plug"] is None:
                dev["plug"] = node["host"]
        if node["allow_pool_only_fencing"] is None:
            node["allow_pool_only_fencing"] = model["cluster"]["allow_pool_only_fencing"]
        pool_only = node["fencing"] and all(d["device"] == "xapi" for d in node["fencing"])
        if pool_only and not node["allow_pool_only_fencing"]:
            raise source.error(
                path,
                "node %r is fenced only by device: xapi, which cuts no power: it declares the "
                "host dead in the pool, so a host that is merely cut off keeps running its VMs "
                "while they start elsewhere. Add a power device (ilo, drac, irmc, apc, meatware) "
                "before it, or set allow_pool_only_fencing: true (on the node or under cluster) "
                "when storage-level protection keeps a lost host off the VMs' disks" % node["name"],
            )
        levels = [d["level"] for d in node["fencing"] if d["level"] is not None]
        if levels and len(levels) != len(node["fencing"]):
            raise source.error(path + ("fencing",), "give 'level' to every device or to none")
        if not levels:
            for j, dev in enumerate(node["fencing"]):
                dev["level"] = j + 1


def _check_fence_device(source, dev, path):
    for alias, name in agents.FENCE_ALIASES.items():
        if dev.get(alias) is not None:
            if dev.get(name) is not None:
                raise source.error(
                    path + (alias,), "give either %r or %r, not both" % (alias, name)
                )
            dev[name] = dev[alias]
        dev.pop(alias, None)
    kind = dev["device"]
    methods = agents.FENCE_METHODS.get(kind)
    if dev["method"] is not None and (not methods or dev["method"] not in methods):
        raise source.error(
            path + ("method",),
            "got %r; expected one of: %s"
            % (dev["method"], ", ".join(methods or ("(no method for %s)" % kind,))),
        )
    if kind in FENCE_ADDRESS and not dev["ip"]:
        raise source.error(path, "missing key 'ip' (%s)" % FENCE_ADDRESS[kind])
    if kind == "apc" and not dev["plug"]:
        raise source.error(path, "missing key 'plug' (the PDU outlet of this node)")
    if dev["username"] and not (dev["password_file"] or dev["password_script"]):
        raise source.error(path, "has a username but no password_file or password_script")


def _check_quorum(source, model):
    quorum = model["quorum"]
    count = len(model["cluster"]["nodes"])
    if quorum["mode"] is None:
        quorum["mode"] = "two_node" if count == 2 else "majority"
    if quorum["mode"] == "two_node" and count != 2:
        raise source.error(("quorum", "mode"), "two_node needs exactly 2 nodes, got %d" % count)
    if quorum["mode"] == "qdevice" and not quorum["qdevice"]["host"]:
        raise source.error(("quorum", "qdevice"), "missing key 'host' (the qnetd arbiter)")
    if quorum["mode"] != "qdevice" and quorum["qdevice"]["host"]:
        raise source.error(("quorum", "qdevice"), "given, but quorum.mode is %r" % quorum["mode"])


def _check_vms(source, model):
    pool = model["pool"]
    if pool["mode"] == "vms" and model["appliances"]:
        raise source.error(("appliances",), "given, but pool.mode is 'vms' (use 'appliances')")
    if pool["mode"] == "appliances" and model["vms"]:
        raise source.error(("vms",), "given, but pool.mode is 'appliances': list VMs per appliance")
    _unique(source, model["appliances"], "name", ("appliances",))
    entries = [(("vms", i), vm) for i, vm in enumerate(model["vms"])]
    for a, app in enumerate(model["appliances"]):
        entries += [(("appliances", a, "vms", i), vm) for i, vm in enumerate(app["vms"])]
    nodes = {n["name"] for n in model["cluster"]["nodes"]}
    seen_vm, seen_id = {}, {}
    for path, vm in entries:
        vm["id"] = resource_id(vm)
        if not _VALID_ID.match(vm["id"]):
            raise source.error(
                path + ("id",),
                "got %r; expected vm- followed by letters, digits, '_', '.' or '-'" % vm["id"],
            )
        for key, seen in (("vm", seen_vm), ("id", seen_id)):
            if vm[key] in seen:
                raise source.error(
                    path + (key,),
                    "duplicate VM %s %r (also at %s)" % (key, vm[key], source.where(seen[vm[key]])),
                )
            seen[vm[key]] = path
        if vm["preferred_host"] is not None and vm["preferred_host"] not in nodes:
            raise source.error(
                path + ("preferred_host",),
                "%r is not a node; expected one of: %s"
                % (vm["preferred_host"], ", ".join(sorted(nodes))),
            )
        if vm["uses_storage"] is None:
            vm["uses_storage"] = bool(model["storage"])
        elif vm["uses_storage"] and not model["storage"]:
            raise source.error(path + ("uses_storage",), "true, but there is no 'storage' section")
    by_ref = {}
    for _, vm in entries:
        by_ref[vm["vm"]] = by_ref[vm["id"]] = vm["id"]
        if vm.get("name"):
            by_ref.setdefault(vm["name"], vm["id"])
    for path, vm in entries:
        resolved = []
        for k, ref in enumerate(vm["start_after"]):
            if ref not in by_ref:
                raise source.error(
                    path + ("start_after", k), "%r is not a VM of this description" % ref
                )
            if by_ref[ref] == vm["id"]:
                raise source.error(path + ("start_after", k), "a VM cannot start after itself")
            resolved.append(by_ref[ref])
        vm["start_after"] = resolved


def _unique(source, items, key, path):
    seen = {}
    for i, item in enumerate(items):
        value = item.get(key)
        if value is None:
            continue
        if value in seen:
            raise source.error(
                path + (i, key),
                "duplicate %r (also at %s)" % (value, source.where(path + (seen[value], key))),
            )
        seen[value] = i
