"""Which Pacemaker a configuration is written for: ``cluster.pacemaker`` in the
description (1.1, 2.0, 2.1 or 3.0; ``--pacemaker`` on ``config generate|verify``),
by default the one on this machine, else 2.1.

The plan (xenha.crm.plan) is made for 2.1; :func:`adapt` rewrites it for another
target. What differs (Pacemaker Explained, and each release's ChangeLog):

* role names: Promoted/Unpromoted from 2.1.0 (schema 3.7); Master/Slave before;
  3.0 accepts only the new ones.
* 1.1 has no promotable clone: a ``master`` resource (crmsh ``ms``, pcs 0.9
  ``resource master``) with ``master-max``/``master-node-max``.
* ``priority-fencing-delay`` (2.0.4 and later; ``xenha check`` warns on 2.0.0-2.0.3): 1.1
  lacks it. Its stated equivalent there is a fixed ``pcmk_delay_base`` on the devices
  that fence the first node listed, so that node wins a fence race, whichever node
  holds the pool master.
* the CIB schema each release validates against (``validate-with``; 2.0's is the one
  every 2.0 release reads, pacemaker-3.0).
* Corosync: 1.1 runs with Corosync 2 (CentOS 7), which has udpu, not knet
  (xenha.crm.totem).
"""

import collections
import functools
import re
import subprocess

Target = collections.namedtuple(
    "Target", "name schema promoted unpromoted promotable_clone priority_fencing_delay corosync"
)
TARGETS = {
    t.name: t
    for t in (
        Target("1.1", "pacemaker-2.10", "Master", "Slave", False, False, 2),
        Target("2.0", "pacemaker-3.0", "Master", "Slave", True, True, 3),
        Target("2.1", "pacemaker-3.9", "Promoted", "Unpromoted", True, True, 3),
        Target("3.0", "pacemaker-4.0", "Promoted", "Unpromoted", True, True, 3),
    )
}
DEFAULT = "2.1"
NAMES = tuple(sorted(TARGETS))


def of_version(text):
    """The target for a Pacemaker version text ("Pacemaker 2.0.5 (Build: ...)"), or None."""
    m = re.search(r"(\d+)\.(\d+)", text or "")
    if not m:
        return None
    version = (int(m.group(1)), int(m.group(2)))
    if version < (2, 0):
        return "1.1"
    if version < (2, 1):
        return "2.0"
    if version < (3, 0):
        return "2.1"
    return "3.0"


@functools.lru_cache(maxsize=None)
def machine():
    """This machine's Pacemaker's target, or DEFAULT when there is none to ask."""
    try:
        out = subprocess.run(
            ["pacemakerd", "--version"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            universal_newlines=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return DEFAULT
    return of_version(out) or DEFAULT


def of(model):
    """The Target of a checked model."""
    return TARGETS[model["cluster"].get("pacemaker") or machine()]


def _delayed(params, delay, stonith_timeout):
    """A fence device's parameters with ``pcmk_delay_base`` set to ``delay`` and its off
    and reboot timeouts that much longer: 1.1.23's fencer reports a device's delay in
    its query reply divided by 1000 twice (seconds already; fencing/commands.c), so the
    requesting node's timeout leaves it out and the delay would eat the device's time."""
    from xenha import values

    extra = values.duration(delay)
    given = dict(params)
    out = [(k, v) for k, v in params if k not in ("pcmk_off_timeout", "pcmk_reboot_timeout")]
    for key in ("pcmk_off_timeout", "pcmk_reboot_timeout"):
        base = values.duration(given.get(key, stonith_timeout))
        out.append((key, "%ds" % (base + extra)))
    return out + [("pcmk_delay_base", delay)]


def adapt(cfg, target, first_node):
    """Rewrite the 2.1 Config ``cfg`` for ``target`` (in place); ``first_node``: the node
    that wins a fence race where priority-fencing-delay is missing."""
    cfg.target = target
    roles = {"Promoted": target.promoted, "Unpromoted": target.unpromoted}
    for p in cfg.primitives:
        p.ops = [op._replace(role=roles.get(op.role, op.role)) for op in p.ops]
    cfg.locations = [
        loc._replace(rule=loc.rule._replace(role=roles.get(loc.rule.role, loc.rule.role)))
        if loc.rule
        else loc
        for loc in cfg.locations
    ]
    if not target.promotable_clone:
        renamed = {"promoted-max": "master-max", "promoted-node-max": "master-node-max"}
        for i, c in enumerate(cfg.clones):
            if ("promotable", "true") in c.meta:
                meta = [(renamed.get(k, k), v) for k, v in c.meta if k != "promotable"]
                cfg.clones[i] = c._replace(meta=meta)
                cfg.masters.add(c.id)
    if not target.priority_fencing_delay:
        delay = dict(cfg.properties).pop("priority-fencing-delay", None)
        if delay is not None:
            cfg.properties = [kv for kv in cfg.properties if kv[0] != "priority-fencing-delay"]
            fencing_first = {
                d for level in cfg.topology if level.target == first_node for d in level.devices
            }
            for p in cfg.primitives:
                if p.id in fencing_first:
                    p.params = _delayed(p.params, delay, dict(cfg.properties)["stonith-timeout"])
            cfg.notes.append(
                "Pacemaker %s has no priority-fencing-delay: fencing %s waits %s "
                "(pcmk_delay_base), so %s wins a fence race."
                % (target.name, first_node, delay, first_node)
            )
    return cfg
