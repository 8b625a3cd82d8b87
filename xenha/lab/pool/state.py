"""Building a pool from a description (a JSON state file, or just counts of hosts and VMs).

{"pool": {"name_label": "lab", "other_config": {}},
 "master": "host1",                       # default: the first host
 "hosts": [{"name": "host1", "address": "127.0.0.11", "other_config": {}}],
 "appliances": [{"name": "app1"}],
 "vms": [{"name": "vm1", "uuid": "…", "host": "host1",   # running there; omit: halted
          "appliance": "app1", "order": 0, "other_config": {}, "is_a_template": false}],
 "srs": [{"name": "shared-sr", "type": "lvmoiscsi", "attached": true}],
 "knobs": {"db_sync_interval": 300, "xapi_fuse": 10, "local_reads": "master"}}

"knobs" (or its older name "timing") overrides knobs.DEFAULT_KNOBS. A host may also say
where its pool.conf is written ("pool_conf": path).
"""

import ipaddress
import json
import time

from .db import Database
from .lifecycle import create_vm, running_on
from .members import HostRuntime, SimPool
from .options import FIRST_ADDRESS


def describe(hosts=3, vms=4):
    """A pool of ``hosts`` hosts and ``vms`` VMs spread over them, all running."""
    return {
        "hosts": [{"name": "host%d" % (i + 1)} for i in range(hosts)],
        "vms": [{"name": "vm%d" % (i + 1), "host": "host%d" % (i % hosts + 1)} for i in range(vms)],
        "srs": [{"name": "shared-sr"}],
    }


def load(path):
    with open(path) as f:
        return json.load(f)


def build(desc, password, first_address=FIRST_ADDRESS):
    """A SimPool as described; the truth runs the VMs that are placed on a host."""
    pool = SimPool(password=password, timing=desc.get("timing"), knobs=desc.get("knobs"))
    db = Database()
    pdesc = desc.get("pool", {})
    pool_ref = db.create(
        "pool",
        name_label=pdesc.get("name_label", "xenha-sim"),
        other_config=dict(pdesc.get("other_config", {})),
    )
    hosts = desc["hosts"]
    if not hosts:
        raise ValueError("a pool needs at least one host")
    base = ipaddress.ip_address(first_address)
    refs = {}
    for i, h in enumerate(hosts):
        address = h.get("address") or str(base + i)
        metrics = db.create("host_metrics", live=True)
        ref = db.create(
            "host",
            uuid=h.get("uuid"),
            name_label=h["name"],
            hostname=h["name"],
            address=address,
            metrics=metrics,
            enabled=h.get("enabled", True),
            other_config=dict(h.get("other_config", {})),
        )
        dom0 = create_vm(
            db,
            name_label="Control domain on host: %s" % h["name"],
            is_control_domain=True,
            power_state="Running",
            resident_on=ref,
            domid=0,
        )
        db.record("host", ref)["control_domain"] = dom0
        refs[h["name"]] = ref
    master_name = desc.get("master", hosts[0]["name"])
    db.record("pool", pool_ref)["master"] = refs[master_name]
    apps = {
        a["name"]: db.create("VM_appliance", uuid=a.get("uuid"), name_label=a["name"])
        for a in desc.get("appliances", [])
    }
    placements = []
    for v in desc.get("vms", []):
        ref = create_vm(
            db,
            uuid=v.get("uuid"),
            name_label=v["name"],
            is_a_template=bool(v.get("is_a_template", False)),
            order=int(v.get("order", 0)),
            other_config=dict(v.get("other_config", {})),
        )
        if v.get("appliance"):
            db.set("VM", ref, "appliance", apps[v["appliance"]])
        if v.get("host"):
            placements.append((ref, v["host"]))
    for s in desc.get("srs", []):
        sr = db.create("SR", name_label=s["name"], type=s.get("type", "lvmoiscsi"))
        for ref in refs.values():
            db.create("PBD", host=ref, SR=sr, currently_attached=s.get("attached", True))
    master_address = db.record("host", refs[master_name])["address"]
    for h in hosts:
        ref = refs[h["name"]]
        rec = db.record("host", ref)
        role = "master" if h["name"] == master_name else "slave"
        host = HostRuntime(ref, rec["uuid"], h["name"], rec["address"], role, master_address, db)
        host.netns, host.socket = h.get("netns"), h.get("socket")
        host.pool_conf_path = h.get("pool_conf")
        pool.hosts.append(host)
        pool.truth.add_host(rec["uuid"])
    for vm_ref, host_name in placements:
        host = pool.host(host_name)
        domid = pool.truth.start(host.uuid, db.record("VM", vm_ref)["uuid"])
        running_on(db, vm_ref, host.ref, domid)
    for h in pool.hosts:
        if h.role == "slave":
            h.db = db.copy()  # the backup each slave got when it joined
            h.backup_time = time.time()
    pool.track_masters()
    return pool
