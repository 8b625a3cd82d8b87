"""`xenha config show`: where the running cluster and the pool's per-VM flags have
drifted from the cluster description.

Three kinds: what ``crm configure load update`` of the description would still change
(xenha.crm.apply.preview, crmsh's own diff); objects in the CIB the description does
not make (``load update`` never removes them: a VM dropped from the description stays
protected until deleted); and, when VMs are protected by their flag
(``pool.protect: flagged``), VMs whose flag and protection disagree.
"""

import xml.etree.ElementTree as ET

from xenha.status import MOVE_PREFIXES  # crm_resource's own: xenha status reports them

# CIB elements that are configuration objects with ids the generator makes.
OBJECTS = ("primitive", "clone", "group", "rsc_location", "rsc_order", "rsc_colocation", "alert")


def extra_objects(cib_xml, plan_ids):
    """Ids of CIB objects the description does not make (move constraints apart)."""
    root = ET.fromstring(cib_xml)
    found = {e.get("id") for tag in OBJECTS for e in root.iter(tag) if e.get("id")}
    return sorted(i for i in found - set(plan_ids) if not i.startswith(MOVE_PREFIXES))


def flag_drift(model, vm_records):
    """Lines on VMs whose pool flag disagrees with their protection. ``vm_records``:
    {uuid: {"name_label", "other_config"}} of the pool's regular VMs."""
    from xenha.crm import plan

    pool = model["pool"]
    if pool["protect"] != "flagged" or pool["mode"] != "vms":
        return []
    field = pool["flag_field"]
    protected = {vm["vm"] for vm in plan.protected_vms(model)}
    out = []
    for uuid, rec in sorted(vm_records.items(), key=lambda i: i[1]["name_label"]):
        name = rec["name_label"]
        value = rec["other_config"].get(field)
        named = uuid in protected or name in protected
        if value not in (None, "true", "false"):
            out.append(
                "VM %s: %s=%r is neither true nor false (counts as not protected)"
                % (name, field, value)
            )
        elif value == "true" and not named:
            out.append("VM %s is flagged %s=true in the pool, but not protected" % (name, field))
        elif value != "true" and named:
            out.append("VM %s is protected, but its %s is not true in the pool" % (name, field))
    return out


def pool_vms(client):
    """{uuid: record} of the pool's regular VMs (no templates, snapshots, dom0s)."""
    from xenha.importers.discover import regular

    records = client.xenapi.VM.get_all_records().values()
    return {
        rec["uuid"]: {"name_label": rec["name_label"], "other_config": rec["other_config"]}
        for rec in records
        if regular(rec)
    }
