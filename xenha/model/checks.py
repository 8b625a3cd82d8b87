"""The rules that tie a description's keys together (nodes and their fencing, quorum,
VMs and appliances, alerts), applied after each key has been checked alone."""

import re

from xenha.model.fields import check_map
from xenha.model.spec import (
    FENCE_ADDRESS,
    FENCE_METHODS,
    FENCE_OPTION_ALIASES,
    INLINE_SECRETS,
    LAB_ONLY_FENCE_DEVICES,
    SPEC,
    TIMING_TOKEN_MS,
)

POOL_DEVICE = "xapi"  # HA-Lizard's POOL fencing: host.declare_dead, no power cut
_ID = re.compile(r"[^A-Za-z0-9_.-]+")
_VALID_ID = re.compile(r"^vm-[A-Za-z0-9_.-]+$")  # the connectivity rule matches ids by ^vm-
# The storage keys are declared (xenha.model.spec) but the agent they configure is not built
# yet, and the generator must not emit an agent that does not exist.
STORAGE_REFUSED = (
    "replicated storage (drbd-iscsi-target) is not available in this version yet; "
    "remove the section"
)


def resource_id(vm):
    """The Pacemaker id of a VM entry: ``id``, else ``vm-`` + its name (or the VM reference)."""
    if vm.get("id"):
        return vm["id"]
    return "vm-" + (_ID.sub("-", vm.get("name") or vm["vm"]).strip("-") or "x")


def validate(source):
    """The checked model of ``source`` (a parsed description), defaults filled in."""
    data = source.data
    if not isinstance(data, dict):
        raise source.error((), "the description must be a mapping with a 'cluster' key")
    data = dict(data)
    if "storage" in data:
        raise source.error(("storage",), STORAGE_REFUSED)
    for section in ("vms",):
        if isinstance(data.get(section), list):
            data[section] = [_vm_shorthand(v) for v in data[section]]
    for app in data.get("appliances") or []:
        if isinstance(app, dict) and isinstance(app.get("vms"), list):
            app["vms"] = [_vm_shorthand(v) for v in app["vms"]]
    model = check_map(source, data, SPEC, (), INLINE_SECRETS)
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
    cluster = model["cluster"]
    if cluster["token_ms"] is None:
        cluster["token_ms"] = TIMING_TOKEN_MS[cluster["timing"]]
    elif not 500 <= cluster["token_ms"] <= 60000:
        raise source.error(
            ("cluster", "token_ms"),
            "%d is outside 500..60000: a shorter token fences hosts on a network hiccup"
            % cluster["token_ms"],
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
            _check_fence_device(source, dev, path + ("fencing", j), model["cluster"]["lab"])
            if dev["device"] == POOL_DEVICE and dev["plug"] is None:
                dev["plug"] = node["host"]
        if node["allow_pool_only_fencing"] is None:
            node["allow_pool_only_fencing"] = model["cluster"]["allow_pool_only_fencing"]
        pool_only = node["fencing"] and all(d["device"] == POOL_DEVICE for d in node["fencing"])
        if pool_only and not node["allow_pool_only_fencing"]:
            raise source.error(
                path,
                "node %r is fenced only by device: xapi, which cuts no power: it declares the "
                "host dead in the pool, so a host that is merely cut off keeps running its VMs "
                "while they start elsewhere. Add a power device (ilo, drac, irmc, apc, meatware; "
                "it is tried before xapi), or set allow_pool_only_fencing: true (on the node or "
                "under cluster) when storage-level protection keeps a lost host off the VMs' "
                "disks" % node["name"],
            )
        levels = [d["level"] for d in node["fencing"] if d["level"] is not None]
        if levels and len(levels) != len(node["fencing"]):
            raise source.error(path + ("fencing",), "give 'level' to every device or to none")
        if levels:
            _check_pool_level(source, node, path)
        else:
            _number_levels(node["fencing"])


def _number_levels(fencing):
    """Levels in list order, except that POOL fencing (``device: xapi``) comes after every
    power device, wherever it is listed: it cuts no power and "succeeds" for a host that
    is merely cut off from the master, so tried first it would hand that host's VMs to
    the survivors while they still run (a power device appended to an imported POOL-only
    description is tried first)."""
    power = [d for d in fencing if d["device"] != POOL_DEVICE]
    pool = [d for d in fencing if d["device"] == POOL_DEVICE]
    for j, dev in enumerate(power + pool):
        dev["level"] = j + 1


def _check_pool_level(source, node, path):
    """With levels given: a POOL device may only be in a level after every power device's,
    or in the same level as a power device (all devices of a level must succeed)."""
    power = {d["level"] for d in node["fencing"] if d["device"] != POOL_DEVICE}
    if not power:
        return
    for j, dev in enumerate(node["fencing"]):
        if dev["device"] != POOL_DEVICE or dev["level"] in power or dev["level"] > max(power):
            continue
        later = sorted(level for level in power if level > dev["level"])
        raise source.error(
            path + ("fencing", j, "level"),
            "node %r: device: xapi at level %d would be tried before the power device(s) at "
            "level %s, but POOL fencing cuts no power: it declares the host dead in the pool "
            "and succeeds for a host that is merely cut off, whose VMs then start elsewhere "
            "while they still run. Move device: xapi after the power devices (level %d), or "
            "into the level of a power device (every device of a level must succeed)"
            % (node["name"], dev["level"], ", ".join(map(str, later)), max(power) + 1),
        )


def _check_fence_device(source, dev, path, lab):
    for alias, name in FENCE_OPTION_ALIASES.items():
        if dev.get(alias) is not None:
            if dev.get(name) is not None:
                raise source.error(
                    path + (alias,), "give either %r or %r, not both" % (alias, name)
                )
            dev[name] = dev[alias]
        dev.pop(alias, None)
    kind = dev["device"]
    if kind in LAB_ONLY_FENCE_DEVICES and not lab:
        raise source.error(
            path + ("device",),
            "%s is a test-only fence device (fence_xenha_%s, for test labs); a description "
            "may use it only with cluster.lab: true" % (kind, kind),
        )
    methods = FENCE_METHODS.get(kind)
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
