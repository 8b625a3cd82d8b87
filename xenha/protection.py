"""Which VMs the cluster protects follows the pool: `xenha vm protect|unprotect|follow`.

The pool says which VMs are protected, as HA-Lizard let it (``pool.mode``,
``protect``, ``flag_field``): those whose ``other-config`` flag is ``true`` (a
XenCenter custom field), every VM, or the VMs of the appliances. The cluster keeps
the description it was loaded with in its CIB (:data:`SET_ID`, written by
``xenha config load``), so any node can generate the resource of a VM the pool
newly protects. One pass of :class:`Follower`:

* reads the pool's choice again, as ``xenha config discover`` does;
* gives a newly protected VM its resource with ``crm configure load update`` of the
  regenerated configuration: Pacemaker probes it, finds it where it runs and leaves
  it there (no restart);
* takes the resource of an unprotected VM away while the VM runs: the generated
  ``stop-orphan-resources=false`` leaves a deleted resource as it is (an unmanaged
  orphan), and its history is then cleaned, so unprotecting never stops a VM;
* counts a flag that is neither ``true`` nor ``false`` as unprotected, and mails it
  once (the flags already mailed are kept in the CIB: one mail pool-wide).

``xenha vm follow --every N`` runs a pass every N seconds on every node; only the DC of
a quorate partition acts, and not while maintenance is on. A flag changed in XenCenter
is followed within one interval and one pass.
"""

import base64
import time
import zlib
from xml.sax.saxutils import quoteattr

from xenha import maintenance, pacemaker, values
from xenha.crm.agents import VM_AGENT
from xenha.errors import XenhaError

SET_ID = "xenha-description"
TEXT = SET_ID + "-zlib"  # the YAML, zlib-compressed, base64: one line in `crm configure show`
ORIGIN = SET_ID + "-from"  # which file, when, by whom: for people reading the CIB
NOTED = "xenha-invalid-flags"  # {VM UUID: the invalid value already mailed}


def set_xml(set_id, pairs):
    """A cluster property set of ``pairs`` ({name: value}); an nvpair's id is its name,
    prefixed with the set's id unless it has it already (an XML id: a UUID is none)."""
    nvpairs = "".join(
        "<nvpair id=%s name=%s value=%s/>"
        % (quoteattr(k if k.startswith(set_id) else set_id + "-" + k), quoteattr(k), quoteattr(v))
        for k, v in sorted(pairs.items())
    )
    return "<cluster_property_set id=%s>%s</cluster_property_set>" % (quoteattr(set_id), nvpairs)


def property_set(root, set_id):
    """{name: value} of the cluster property set ``set_id`` in a parsed CIB; None: none."""
    for s in root.iter("cluster_property_set"):
        if s.get("id") == set_id:
            return {nv.get("name"): nv.get("value", "") for nv in s.iter("nvpair")}
    return None


def encode(text):
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def stored(root):
    """The description text the cluster was loaded with (from a parsed CIB)."""
    found = property_set(root, SET_ID) or {}
    if TEXT not in found:
        raise XenhaError(
            "the cluster holds no description to follow the pool with: load one with "
            "`xenha config load FILE` (this xenha version stores it in the CIB)"
        )
    try:
        return zlib.decompress(base64.b64decode(found[TEXT])).decode("utf-8")
    except (ValueError, zlib.error) as e:
        raise XenhaError("the description stored in the CIB is damaged (%s)" % e) from None


def description_set(text, origin):
    """The cluster property set that keeps the description ``text`` in the CIB."""
    return set_xml(SET_ID, {TEXT: encode(text), ORIGIN: origin})


def store(verbs, root, text, origin):
    """Keep ``text`` (the description loaded) in the CIB, in one update."""
    verbs.put_property_set(description_set(text, origin), property_set(root, SET_ID) is not None)


class Change:
    """What one pass did: resource ids added and released, invalid flags
    ``[(uuid, name, value)]`` and those newly mailed, and the lines to tell."""

    def __init__(self):
        self.added, self.released, self.invalid, self.mailed, self.lines = [], [], [], [], []

    def as_dict(self):
        return {
            "added": self.added,
            "released": self.released,
            "invalid": [{"vm": u, "name": n, "value": v} for u, n, v in self.invalid],
            "mailed": self.mailed,
            "lines": self.lines,
        }


def regenerate(text, client):
    """(the description with the pool's choice of VMs now, its checked model with UUIDs,
    report lines). A VM's ``start_after`` naming a VM no longer protected is dropped
    (said): the description stays valid as the pool changes."""
    from xenha import model
    from xenha.importers import discover, identities
    from xenha.model.source import parse

    data = parse(text, "the description stored in the CIB").data
    data, report = discover.discover(data, client)
    entries = list(data.get("vms") or []) + [
        vm for app in data.get("appliances") or [] for vm in app.get("vms") or []
    ]
    known = set()
    for e in entries:
        known.update(str(e.get(k)) for k in ("vm", "name", "id") if e.get(k))
        known.update("vm-" + str(e[k]) for k in ("name",) if e.get(k))
    for e in entries:
        after = e.get("start_after")
        if after:
            kept = [a for a in after if str(a) in known]
            for gone in sorted(set(map(str, after)) - set(map(str, kept))):
                report.append("VM %s: start_after %s dropped (not protected)" % (e["vm"], gone))
            e["start_after"] = kept
    new_text = discover.dump(data)
    checked = model.loads(new_text, "the description stored in the CIB")
    checked, _ = identities.resolve(checked, client)
    return new_text, checked, report


def additions(cfg, rids):
    """The part of a Config that protects the VMs ``rids``: their resources and the
    constraints that name them (the order sets of every VM among them). Nothing else:
    a pass never changes what protects the VMs already there (a parameter changed
    under a running resource would restart it)."""
    from xenha.crm import plan

    rids = set(rids)
    part = plan.Config(cfg.name, cfg.target)
    part.primitives = [p for p in cfg.primitives if p.id in rids]
    part.locations = [loc for loc in cfg.locations if loc.rsc in rids]
    part.orders = [o for o in cfg.orders if any(r in rids for s in o.sets for r in s.ids)]
    return part


def unreferencing(root, rid):
    """XPaths to delete, in order, so that no constraint of the parsed CIB ``root`` names
    ``rid``: a constraint naming it directly goes; in a resource set, its reference goes,
    or the set when it is the only one there, or the constraint when a single set would
    be left. (Not crmsh: its ``delete`` refuses a running resource, or stops it first
    with ``-F``.)"""
    direct = ("rsc", "first", "then", "with-rsc")
    out = []
    for c in root.iterfind("configuration/constraints/*"):
        mine = "//constraints/%s[@id='%s']" % (c.tag, c.get("id"))
        if any(c.get(a) == rid for a in direct):
            out.append(mine)
            continue
        sets = list(c.iter("resource_set"))
        holding = [s for s in sets if any(r.get("id") == rid for r in s.iter("resource_ref"))]
        alone = [s for s in holding if len(s.findall("resource_ref")) == 1]
        if holding and len(sets) - len(alone) < 2:
            out.append(mine)
            continue
        for s in holding:
            path = "%s/resource_set[@id='%s']" % (mine, s.get("id"))
            out.append(path if s in alone else "%s/resource_ref[@id='%s']" % (path, rid))
    return out


class Follower:
    """One pass of following the pool (see the module's docstring). ``verbs``: the CIB
    tools (xenha.operate.verbs.Verbs); ``mail(text)``: alerts the operators."""

    def __init__(self, client, verbs, mail=None, origin="xenha vm follow"):
        self.client = client
        self.verbs = verbs
        self.mail = mail
        self.origin = origin

    def run(self, cib_xml=None):
        from xenha.crm import apply, plan, render
        from xenha.importers.discover import flag, regular

        cib_xml = cib_xml or self.verbs.query()
        root = pacemaker.parse_xml(cib_xml, "the CIB")
        text = stored(root)
        new_text, checked, report = regenerate(text, self.client)
        change = Change()
        field = checked["pool"]["flag_field"]
        records = {
            r["uuid"]: r for r in self.client.xenapi.VM.get_all_records().values() if regular(r)
        }
        if checked["pool"]["mode"] == "vms" and checked["pool"]["protect"] == "flagged":
            change.invalid = sorted(
                (u, r["name_label"], r["other_config"][field])
                for u, r in records.items()
                if flag(r, field) is None
            )
        want = {vm["vm"]: vm["id"] for vm in plan.protected_vms(checked)}
        have = {p.get("vm", ""): rid for rid, p in pacemaker.primitives(cib_xml, VM_AGENT).items()}
        for uuid, rid in want.items():
            owner = next((u for u, r in have.items() if r == rid), None)
            if owner not in (None, uuid):
                raise XenhaError(
                    "not following the pool: VM %s would get the resource id %s, which "
                    "VM %s has; give it another name in the description" % (uuid, rid, owner)
                )
        change.added = sorted(rid for uuid, rid in want.items() if uuid not in have)
        # Only VMs the pool knows and no longer protects lose their resource: a VM the
        # pool does not list (deleted, or named by a name) is not this pass's to judge.
        change.released = sorted(
            rid for uuid, rid in have.items() if uuid in records and uuid not in want
        )
        if change.added:
            part = additions(plan.build(checked), change.added)
            # crm -F: what the generator wrote needs no metadata check by crmsh (which
            # fails where the agents are not installed, as on a copy of the CIB).
            text_crm = render.render_config(part, "crm", "xenha vm follow")
            apply.load(text_crm, force=True)
        if change.added or change.released or new_text != text:
            root = pacemaker.parse_xml(self.verbs.query(), "the CIB")
            loaded = (property_set(root, SET_ID) or {}).get(ORIGIN, "").split("; ")[0]
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            store(self.verbs, root, new_text, "%s; then %s, %s" % (loaded, self.origin, when))
        for rid in change.released:
            self.release(rid, pacemaker.parse_xml(self.verbs.query(), "the CIB"))
        change.lines = [line for line in report if "protected" in line or "dropped" in line]
        change.lines += ["%s: protected (the pool's choice)" % r for r in change.added]
        change.lines += ["%s: no longer protected; it keeps running" % r for r in change.released]
        self._tell_invalid(change, field, root)
        return change

    def release(self, rid, root):
        """Take ``rid``'s resource away and leave its VM running (see the module)."""
        options = property_set(root, "cib-bootstrap-options") or {}
        if values.is_true(options.get("stop-orphan-resources", "true")):
            raise XenhaError(
                "not releasing %s: the cluster would stop it (stop-orphan-resources is not "
                "false); `xenha config load` the description with this xenha version" % rid
            )
        for xpath in unreferencing(root, rid) + ["//resources//primitive[@id='%s']" % rid]:
            self.verbs.delete_xpath(xpath)
        self.verbs.forget(rid)

    def _tell_invalid(self, change, field, root):
        """Mail invalid flags not mailed yet; forget those that became valid."""
        noted = property_set(root, NOTED)
        now = {u: v for u, _, v in change.invalid}
        new = [(u, n, v) for u, n, v in change.invalid if (noted or {}).get(u) != v]
        if now == (noted or {}):
            return
        if new and self.mail is not None:
            for u, n, v in new:
                self.mail(
                    "VM %s (%s): %s=%r is neither true nor false: counted as not protected"
                    % (n, u, field, v)
                )
            change.mailed = [u for u, _, _ in new]
        if now:
            self.verbs.put_property_set(set_xml(NOTED, now), noted is not None)
        else:
            self.verbs.remove_property_set(NOTED)


def should_act(me, dc, quorate, cib_root, owner=True):
    """Why a pass must not act (None: act): the service's (``owner``) only on the DC;
    none without quorum or while maintenance is on."""
    if owner and me != dc:
        return "%s is not the DC (%s is)" % (me, dc)
    if not quorate:
        return "the partition has no quorum"
    if maintenance.state(cib_root)["on"]:
        return "maintenance is on"
    return None


def has_quorum(cib_root):
    """Whether the CIB (as the local node reads it) says its partition has quorum."""
    return cib_root.get("have-quorum") in ("1", "true")


def client_of(cib_xml, originator="xenha-follow"):
    """A pool client through the xapi-pool-master resource's parameters in ``cib_xml``."""
    from xenha import status
    from xenha.crm.agents import MASTER_AGENT
    from xenha.xapi import Client

    params = next(iter(pacemaker.primitives(cib_xml, MASTER_AGENT).values()), None)
    return Client(status.settings_of(params), originator, cache_dir=None)


def mailer(cib_xml, log, kind="setting"):
    """``mail(text)``: an alert of ``kind`` (xenha.alerts.events: ``setting``,
    ``maintenance``) to every recipient of the cluster's e-mail alert (as the alert agent
    sends), each failure passed to ``log``; None without an e-mail alert."""
    from xenha.alerts import drill, settings
    from xenha.crm.agents import ALERT_AGENT
    from xenha.install import ALERT_USER

    alerts = settings.from_cib(cib_xml, ALERT_AGENT)
    if not any(a.recipients for a in alerts):
        return None

    def mail(text):
        event = {"CRM_alert_kind": kind, "CRM_alert_desc": text}
        for alert_id, recipient, attrs in drill.recipients(alerts):
            report = drill.send(alert_id, recipient, attrs, user=ALERT_USER, event=event)
            if not report["sent"]:
                log("not mailed to %s: %s" % (recipient, report["error"]))

    return mail


def set_flag(client, vm_ref, field, value):
    """Write the VM's flag (``"true"``/``"false"``) into its other-config, as XenCenter
    does: remove the key (a missing one is no error), then add it (add_to_other_config
    refuses a key already there: MAP_DUPLICATE_KEY)."""
    client.xenapi.VM.remove_from_other_config(vm_ref, field)
    client.xenapi.VM.add_to_other_config(vm_ref, field, value)
