"""Model -> the configuration as plain data, which every output format renders the same way.

Why the constraints look the way they do (proved by tests/unit/test_crm_simulate.py
with crm_simulate, explained in docs/configuration.md):

* ``pool-master-clone:promote`` before each VM's ``start`` is ``Mandatory`` but
  ``symmetrical=false``: in a transition that promotes a new master (the old
  one was fenced) the VM starts wait for the promote, yet a later master move
  neither stops nor restarts running VMs. The symmetrical form would add
  "stop the VMs before demoting" and so restart them on every move.
* VM to VM orders (``start_after``, appliances) are ``Optional``: they order
  starts that happen together, and a VM that cannot start never blocks others.
* Fencing before recovery needs no constraint: Pacemaker never starts a
  resource elsewhere before its lost node is fenced (stonith-enabled=true).
"""

import collections
import re
import typing

from xenha import values
from xenha.crm import agents, targets
from xenha.model import spec
from xenha.pool_agent import MAINTENANCE, MASTER_ACTIONS, VM_ACTIONS

INF = "INFINITY"
MASTER, MASTER_CLONE = "pool-master", "pool-master-clone"
PING, PING_CLONE, PING_ATTR = "ping", "ping-clone", "pingd"
VM_PATTERN = "^vm-"
PREFER_SCORE = 50  # below the default stickiness, so a VM never fails back
LOST_CONNECTIVITY = {"move": "-10000", "stop": "-" + INF}
MAINTENANCE_SCORE = "-10000"  # far below the stickiness: a VM leaves such a host


def _bool(value):
    return "true" if value else "false"


class Primitive:
    """A resource: agent, parameters and meta-attributes (None values dropped), operations."""

    def __init__(self, rid, agent, params=(), meta=(), ops=()):
        self.id = rid
        self.agent = agent  # class:provider:type or stonith:type
        parts = agent.split(":")
        self.cls = parts[0]
        self.provider = parts[1] if len(parts) == 3 else None
        self.type = parts[-1]
        self.params = [(k, str(v)) for k, v in params if v is not None]
        self.meta = [(k, str(v)) for k, v in meta if v is not None]
        self.ops = list(ops)


class Op(typing.NamedTuple):
    """An operation; ``depth`` is the OCF_CHECK_LEVEL of a deeper monitor, ``on_fail``
    Pacemaker's on-fail (None: Pacemaker's default)."""

    name: str
    interval: str = "0s"
    timeout: typing.Optional[str] = None
    role: typing.Optional[str] = None
    depth: typing.Optional[int] = None
    on_fail: typing.Optional[str] = None


def _advertised(spec, on_fail=None):
    """The Op of an action as its agent advertises it (an ``ocf.ActionSpec`` of
    xenha.pool_agent), so the configuration's numbers are the agent's own."""
    interval = "%ds" % (spec.interval or 0)
    return Op(spec.name, interval, "%ds" % spec.timeout, spec.role, spec.depth or None, on_fail)


# A clone of the primitive ``rsc`` with its meta-attributes ``[(name, value)]``.
Clone = collections.namedtuple("Clone", "id rsc meta")
# A location rule: ``score`` (for ``role``; None: any role) where the expressions
# ``[(attribute, operation, value or None)]`` joined by ``boolean_op`` hold.
Rule = collections.namedtuple("Rule", "score role boolean_op exprs")


class Location(typing.NamedTuple):
    """``score`` on ``node``, or a ``rule``; for ``rsc`` or the ids matching ``pattern``."""

    id: str
    rsc: typing.Optional[str] = None
    pattern: typing.Optional[str] = None
    score: typing.Optional[str] = None
    node: typing.Optional[str] = None
    rule: typing.Optional[Rule] = None


# The resources ``ids`` of an order that take ``action``, one after the other if ``sequential``.
ResourceSet = collections.namedtuple("ResourceSet", "ids action sequential")
# An order (``kind`` Mandatory or Optional) through its ``sets``, each after the previous one.
Order = collections.namedtuple("Order", "id kind symmetrical sets")
# Level ``index`` (from 1) of ``target``'s fencing topology: all ``devices`` must succeed.
FencingLevel = collections.namedtuple("FencingLevel", "target index devices")
# An alert agent at ``path``: instance attributes ``attrs``, ``recipients`` ``[(id, value)]``.
Alert = collections.namedtuple("Alert", "id path attrs recipients")


class Config:
    """Everything one description generates, in the order it is written out."""

    def __init__(self, name, target=None):
        self.name = name
        self.target = target or targets.TARGETS[targets.DEFAULT]  # xenha.crm.targets
        self.masters = set()  # the clones written as 1.1's master resources
        self.notes = []  # what a target changed, written as comments at the top
        self.properties = []
        self.rsc_defaults = []
        self.op_defaults = []
        self.primitives = []
        self.clones = []  # Clone
        self.locations = []  # Location
        self.orders = []  # Order
        self.topology = []  # FencingLevel
        self.alerts = []  # Alert

    def ids(self):
        groups = (self.primitives, self.clones, self.locations, self.orders, self.alerts)
        return [item.id for group in groups for item in group]


def build(model):
    """The Config for a checked model (see xenha.model)."""
    cfg = Config(model["cluster"]["name"])
    nodes = model["cluster"]["nodes"]
    _properties(cfg, model, len(nodes))
    _fencing(cfg, nodes, values.duration(model["fencing"]["timeout"]))
    connectivity = _ping(cfg, model["connectivity"])
    xapi = _xapi_params(model["pool"]["xapi"], nodes)
    graces = _given(model["pool"]["master"], agents.MASTER_PARAMS, agents.MASTER_DEFAULTS)
    _master(cfg, xapi + graces, connectivity)
    for app in _protected_appliances(model):
        if len(app["vms"]) > 1:
            cfg.orders.append(
                _order("appliance-" + _slug(app["name"]), "Optional", True, app["vms"])
            )
    _vms(cfg, protected_vms(model), xapi, connectivity)
    if model["alerts"]:
        _alerts(cfg, model["alerts"])
    return targets.adapt(cfg, targets.of(model), nodes[0]["name"])


def _protected_appliances(model):
    excluded = set(model["pool"]["excluded_appliances"])
    return [app for app in model["appliances"] if not {app["name"], app["uuid"]} & excluded]


def protected_vms(model):
    """The VM entries of a checked model that get a resource: its VMs, then those of the
    appliances not excluded."""
    return list(model["vms"]) + [vm for app in _protected_appliances(model) for vm in app["vms"]]


def _properties(cfg, model, count):
    cfg.properties += [
        ("stonith-enabled", "true"),
        ("stonith-timeout", model["fencing"]["timeout"]),
        ("no-quorum-policy", model["quorum"]["no_quorum_policy"]),
        # A resource taken out of the configuration is left as it runs (an unmanaged
        # orphan until its history is cleaned), never stopped: unprotecting a VM must
        # not shut it down (xenha.protection), nor deleting the master resource demote.
        ("stop-orphan-resources", "false"),
    ]
    if model["quorum"]["mode"] == "two_node":
        # Without an arbiter both halves of a split keep quorum and race to fence each
        # other. With qdevice only the half with the arbiter's vote fences, and the delay
        # would only hold back every failover of the busier node.
        cfg.properties.append(("priority-fencing-delay", model["fencing"]["race_delay"]))
    res = model["resources"]
    cfg.rsc_defaults += [
        ("resource-stickiness", str(res["stickiness"])),
        ("migration-threshold", str(res["migration_threshold"])),
        ("failure-timeout", res["failure_timeout"]),
    ]
    # For the operations of agents not xenha's, which advertise less or nothing: ping's
    # start and stop, fence devices' (xenha's agents' operations are all written out).
    cfg.op_defaults.append(("timeout", "120s"))


def _fencing(cfg, nodes, stonith_timeout):
    """Fence devices; one slower than stonith-timeout (a person confirming, a long
    power_timeout) gets its own pcmk_off/reboot_timeout, which Pacemaker's fencer uses
    instead (and sums over the levels of a fencing topology)."""
    for node in nodes:
        name = node["name"]
        kinds = [d["device"] for d in node["fencing"]]
        levels = {}
        for i, dev in enumerate(node["fencing"]):
            kind = dev["device"]
            rid = "fence-%s-%s" % (_slug(name), kind)
            if kinds.count(kind) > 1:
                rid += "-%d" % (kinds[: i + 1].count(kind))
            params = [(p, _value(dev.get(p))) for p in spec.FENCE_AGENT_OPTIONS]
            params.append(("pcmk_host_list", name))
            if dev.get("plug") is not None:
                # The fencer adds the target as its host argument (port, on Pacemaker 2.1)
                # unless the CIB sets that very parameter: the agent would get plug= and
                # port=, one option, and take whichever line came last.
                params.append(("pcmk_host_argument", "plug"))
            params += agents.fence_timeouts(dev, stonith_timeout)
            cfg.primitives.append(
                Primitive(
                    rid,
                    agents.fence_agent(kind),
                    params,
                    ops=[Op("monitor", "60s", "60s")],
                )
            )
            cfg.locations.append(
                Location(rid + "-not-on-" + _slug(name), rid, score="-" + INF, node=name)
            )
            levels.setdefault(dev["level"], []).append(rid)
        for index, level in enumerate(sorted(levels), 1):
            cfg.topology.append(FencingLevel(name, index, levels[level]))


def _ping(cfg, conn):
    """The ping clone; returns the location rule for resources that need connectivity."""
    if not conn["ping"]:
        return None
    cfg.primitives.append(
        Primitive(
            PING,
            agents.PING_AGENT,
            [
                ("host_list", " ".join(conn["ping"])),
                ("multiplier", conn["multiplier"]),
                ("dampen", conn["dampen"]),
                ("name", PING_ATTR),
            ],
            ops=[Op("monitor", "10s", "60s")],
        )
    )
    cfg.clones.append(Clone(PING_CLONE, PING, [("interleave", "true")]))
    return Rule(
        score=LOST_CONNECTIVITY[conn["on_loss"]],
        role=None,
        boolean_op="or",
        exprs=[(PING_ATTR, "not_defined", None), (PING_ATTR, "lte", "0")],
    )


def _given(section, names, defaults):
    """``[(parameter, value)]`` for the keys of a model ``section`` that are set to other
    than what the agent assumes (``names``: key -> parameter, ``defaults``: parameter ->
    the agent's default)."""
    params = []
    for key, name in names.items():
        value = _value(section[key])
        if value is not None and _value(defaults.get(name)) != value:
            params.append((name, value))
    return params


def _xapi_params(xapi, nodes):
    params = _given(xapi, agents.XAPI_PARAMS, agents.XAPI_DEFAULTS)
    if any(n["host"] != n["name"] for n in nodes):
        params.append((agents.HOST_MAP, ";".join("%s:%s" % (n["name"], n["host"]) for n in nodes)))
    return params


def _promotable_ops():
    """The Promoted monitor fails when the master's xapi stays down past its grace or
    the pool's other hosts can no longer reach it while their nodes are members: the
    role can then move only once that node is fenced (promote never makes a second
    master while the old one's node is a member), so that failure fences it."""
    a = MASTER_ACTIONS
    return [
        _advertised(a.start),
        _advertised(a.stop),
        _advertised(a.promoted_monitor, on_fail="fence"),
        _advertised(a.unpromoted_monitor),
        _advertised(a.promote),
        _advertised(a.demote),
        _advertised(a.notify),
    ]


def _master(cfg, xapi, connectivity):
    cfg.primitives.append(Primitive(MASTER, agents.MASTER_AGENT, xapi, ops=_promotable_ops()))
    cfg.clones.append(
        Clone(
            MASTER_CLONE,
            MASTER,
            # priority: in a 2-node fence race the node holding the promoted master wins.
            # notify: the agent hands the role over on a planned move from notify data.
            [
                ("promotable", "true"),
                ("promoted-max", "1"),
                ("promoted-node-max", "1"),
                ("interleave", "true"),
                ("notify", "true"),
                ("priority", "1"),
            ],
        )
    )
    if connectivity:
        rule = connectivity._replace(role="Promoted")
        cfg.locations.append(Location("pool-master-needs-connectivity", MASTER_CLONE, rule=rule))


def _vms(cfg, vms, xapi, connectivity):
    for vm in vms:
        params = [("vm", vm["vm"])] + xapi
        if vm["check_guest"]:
            params.append(("check_guest", "true"))
        params.append(("shutdown_timeout", vm["shutdown_timeout"]))
        a = VM_ACTIONS
        actions = [a.monitor]
        if vm["check_guest"]:
            actions.append(a.guest_monitor)
        actions += [a.start, a.stop]
        if vm["migrate"]:
            actions += [a.migrate_to, a.migrate_from]
        ops = [_advertised(action) for action in actions]
        meta = [
            ("allow-migrate", "true" if vm["migrate"] else None),
            ("priority", vm["priority"] or None),
        ]
        cfg.primitives.append(Primitive(vm["id"], agents.VM_AGENT, params, meta, ops))
        if vm["preferred_host"]:
            lid = "%s-prefers-%s" % (vm["id"], _slug(vm["preferred_host"]))
            cfg.locations.append(
                Location(lid, vm["id"], score=str(PREFER_SCORE), node=vm["preferred_host"])
            )
        for first in vm["start_after"]:
            cfg.orders.append(
                _order("%s-after-%s" % (vm["id"], first), "Optional", True, [{"id": first}, vm])
            )
    if not vms:
        return
    ids = [vm["id"] for vm in vms]
    cfg.orders.append(
        Order(
            "pool-master-before-vms",
            "Mandatory",
            symmetrical=False,
            sets=[ResourceSet([MASTER_CLONE], "promote", True), ResourceSet(ids, "start", False)],
        )
    )
    # Off a host in XenCenter's maintenance mode (its xapi-pool-master says so), live;
    # a finite score, so that with every host in maintenance no VM stops.
    maintenance = Rule(MAINTENANCE_SCORE, None, "and", [(MAINTENANCE, "eq", "true")])
    cfg.locations.append(
        Location("vms-avoid-hosts-in-maintenance", pattern=VM_PATTERN, rule=maintenance)
    )
    if connectivity:
        cfg.locations.append(
            Location("vms-need-connectivity", pattern=VM_PATTERN, rule=connectivity)
        )


def _order(oid, kind, symmetrical, vms):
    """A start order through VMs, each after the previous one."""
    if len(vms) == 2:
        sets = [ResourceSet([vm["id"]], "start", True) for vm in vms]
    else:
        sets = [ResourceSet([vm["id"] for vm in vms], "start", True)]
    return Order(oid, kind, symmetrical, sets)


def _alerts(cfg, alerts):
    smtp = alerts["smtp"]
    attrs = [
        ("smtp_server", smtp["server"]),
        ("smtp_port", smtp["port"]),
        ("smtp_user", smtp["user"]),
        ("smtp_password_file", smtp["password_file"]),
        ("smtp_starttls", _bool(smtp["starttls"])),
        ("mail_from", smtp["from"]),
        ("suppress_minutes", alerts["suppress_minutes"]),
    ]
    cfg.alerts.append(
        Alert(
            "email",
            agents.ALERT_AGENT,
            attrs=[(k, str(v)) for k, v in attrs if v is not None],
            recipients=[("email-to-%d" % (i + 1), r) for i, r in enumerate(alerts["recipients"])],
        )
    )


def _value(v):
    if isinstance(v, bool):
        return _bool(v)
    return None if v is None else str(v)


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")
