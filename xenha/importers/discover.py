"""Fill a description's VMs, appliances and host UUIDs from the pool itself, over XAPI.

Which VMs are protected follows the description's ``pool`` section, as
HA-Lizard decided it: mode ``vms`` protects every VM (``protect: all``) or
only those whose ``other-config`` flag (``flag_field``) is ``true``; mode
``appliances`` protects every VM of every appliance not excluded, in the
appliance's start order. A flag that is neither ``true`` nor ``false`` is
reported and treated as "not protected". Settings already written for a VM
(priority, preferred host, ...) are kept.
"""

import re

from xenha.model.source import ModelError

_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def regular(rec):
    """A regular VM: no template, snapshot or control domain."""
    return not (rec["is_a_template"] or rec["is_control_domain"] or rec.get("is_a_snapshot"))


def flag(rec, field):
    """A VM record's HA flag: True, False (no flag counts as false), or None: invalid."""
    value = rec["other_config"].get(field)
    if value in (None, "false"):
        return False
    return True if value == "true" else None


def _flag(rec, field, report):
    found = flag(rec, field)
    if found is not None:
        return found
    report.append(
        "VM %s (%s): %s=%r is neither true nor false; not protected"
        % (rec["uuid"], rec["name_label"], field, rec["other_config"][field])
    )
    return False


def _entries(records, existing, report):
    """VM description entries for ``records`` (in order), reusing what was written for them."""
    labels = [r["name_label"] for r in records]
    out = []
    for rec in records:
        entry = existing.pop(rec["uuid"], None) or existing.pop(rec["name_label"], None) or {}
        entry = dict(entry, vm=rec["uuid"])
        name = _NAME.sub("-", rec["name_label"]).strip("-")
        if (
            "name" not in entry
            and "id" not in entry
            and name
            and labels.count(rec["name_label"]) == 1
        ):
            entry["name"] = name
        out.append(entry)
    return out


def discover(data, client):
    """``data``: the description as read (plain dicts); returns (new data, report lines)."""
    from xenha import model

    checked = model.loads(dump(data), "the description")
    pool = checked["pool"]
    report = []
    xenapi = client.xenapi
    data = dict(data)

    hosts = xenapi.host.get_all_records()
    by_uuid = {h["uuid"]: h for h in hosts.values()}
    nodes = [dict(n) for n in data["cluster"]["nodes"]]
    for node in nodes:
        ref = client.resolve_host(node.get("host") or node["name"])
        uuid = hosts[ref]["uuid"]
        if node.get("host") != uuid:
            report.append("node %s: host %s" % (node["name"], uuid))
        node["host"] = uuid
        by_uuid.pop(uuid, None)
    for uuid, h in sorted(by_uuid.items()):
        report.append("pool host %s (%s) is not a cluster node" % (uuid, h["name_label"]))
    data["cluster"] = dict(data["cluster"], nodes=nodes)

    pool_rec = list(xenapi.pool.get_all_records().values())[0]
    if pool_rec["other_config"].get(pool["flag_field"]) == "false":
        report.append("the pool's %s is false: HA-Lizard had HA switched off" % pool["flag_field"])

    vms = {ref: rec for ref, rec in xenapi.VM.get_all_records().items() if regular(rec)}
    if pool["mode"] == "vms":
        existing = {vm.get("vm") if isinstance(vm, dict) else vm: vm for vm in data.get("vms", [])}
        existing = {k: (v if isinstance(v, dict) else {}) for k, v in existing.items()}
        chosen = sorted(vms.values(), key=lambda r: (r["name_label"], r["uuid"]))
        if pool["protect"] == "flagged":
            chosen = [r for r in chosen if _flag(r, pool["flag_field"], report)]
        data["vms"] = _entries(chosen, existing, report)
        report.append("%d of %d VMs protected" % (len(chosen), len(vms)))
    else:
        excluded = set(pool["excluded_appliances"])
        old = {a["name"]: a for a in data.get("appliances", [])}
        apps = []
        for ref, app in sorted(
            xenapi.VM_appliance.get_all_records().items(), key=lambda kv: kv[1]["name_label"]
        ):
            if {app["name_label"], app["uuid"]} & excluded:
                report.append("appliance %s (%s): excluded" % (app["name_label"], app["uuid"]))
                continue
            members = [r for r in vms.values() if r["appliance"] == ref]
            members.sort(key=lambda r: (int(r["order"] or 0), r["name_label"]))
            prev = old.get(app["name_label"], {})
            existing = {
                (v.get("vm") if isinstance(v, dict) else v): (v if isinstance(v, dict) else {})
                for v in prev.get("vms", [])
            }
            apps.append(
                {
                    "name": app["name_label"],
                    "uuid": app["uuid"],
                    "vms": _entries(members, existing, report),
                }
            )
        data["appliances"] = apps
        report.append(
            "%d appliances, %d VMs protected" % (len(apps), sum(len(a["vms"]) for a in apps))
        )
    return data, report


def dump(data):
    """A description's data as YAML text, its keys in their order."""
    import yaml

    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False)


def run(path, settings):
    """Read the description at ``path``, discover over XAPI; return (YAML text, report)."""
    from xenha.model.source import read
    from xenha.xapi import Client

    source = read(path)
    if not isinstance(source.data, dict) or not isinstance(source.data.get("cluster"), dict):
        raise ModelError("%s: discover needs a description with a cluster section" % path)
    with Client(settings, originator="xenha-config-discover", cache_dir=None) as client:
        data, report = discover(source.data, client)
    text = "# Filled from the pool by `xenha config discover`.\n" + dump(data)
    from xenha import model

    model.loads(text, "the discovered description")
    return text, report
