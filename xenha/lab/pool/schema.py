"""The XAPI classes the simulator serves: field names and defaults as in xen-api's datamodel.

Values are kept as xapi's rpclib values, so records go out unchanged: int64 as ints
(bare digits in XML-RPC, which the SDKs read as strings; numbers in JSON-RPC),
references as "OpaqueRef:…", enums as their names, times as XML-RPC DateTimes.
"""

import xmlrpc.client

NULL_REF = "OpaqueRef:NULL"
EPOCH = xmlrpc.client.DateTime("19700101T00:00:00Z")
API_VERSION = (2, 21)

# Fields a client may change with set_<field> (and add_to_/remove_from_ for maps).
COMMON_RW = ("name_label", "name_description", "other_config", "tags")

CLASSES = {
    "pool": {
        "defaults": {
            "name_label": "",
            "name_description": "",
            "master": NULL_REF,
            "default_SR": NULL_REF,
            "other_config": {},
            "ha_enabled": False,
            "tags": [],
        },
        "rw": COMMON_RW + ("default_SR",),
    },
    "host": {
        "defaults": {
            "name_label": "",
            "name_description": "",
            "hostname": "",
            "address": "",
            "enabled": True,
            "metrics": NULL_REF,
            "control_domain": NULL_REF,
            "resident_VMs": [],
            "PBDs": [],
            "certificates": [],
            "memory_overhead": 512 << 20,  # Xen's and dom0's share, off the guests' total
            "other_config": {},
            "API_version_major": API_VERSION[0],
            "API_version_minor": API_VERSION[1],
            "API_version_vendor": "XenSource",
            "software_version": {"product_brand": "xenha-sim", "xapi": "1.0"},
            "tags": [],
        },
        "rw": COMMON_RW,
    },
    "host_metrics": {
        "defaults": {
            "live": True,
            "last_updated": None,  # filled with a DateTime at creation
            "memory_total": 64 << 30,
            "memory_free": 48 << 30,
            "other_config": {},
        },
        "rw": ("other_config",),
    },
    "VM": {
        "defaults": {
            "name_label": "",
            "name_description": "",
            "power_state": "Halted",
            "resident_on": NULL_REF,
            "scheduled_to_be_resident_on": NULL_REF,
            "affinity": NULL_REF,
            "domid": -1,
            "is_a_template": False,
            "is_a_snapshot": False,
            "is_control_domain": False,
            "appliance": NULL_REF,
            "guest_metrics": NULL_REF,
            "metrics": NULL_REF,
            "order": 0,
            "start_delay": 0,
            "shutdown_delay": 0,
            "ha_always_run": False,
            "ha_restart_priority": "",
            "memory_static_max": 1 << 30,
            "memory_static_min": 1 << 30,
            "memory_dynamic_max": 1 << 30,
            "memory_dynamic_min": 1 << 30,
            "memory_overhead": 8 << 20,
            "VCPUs_max": 1,
            "allowed_operations": [],
            "current_operations": {},
            "blocked_operations": {},
            "other_config": {},
            "tags": [],
        },
        "rw": COMMON_RW
        + (
            "affinity",
            "appliance",
            "order",
            "start_delay",
            "shutdown_delay",
            "ha_restart_priority",
        ),
    },
    "VM_metrics": {
        "defaults": {
            "memory_actual": 1 << 30,
            "VCPUs_number": 1,
            "state": [],
            "start_time": EPOCH,
            "install_time": EPOCH,
            "last_updated": None,
            "other_config": {},
        },
        "rw": ("other_config",),
    },
    "VM_guest_metrics": {
        "defaults": {
            "os_version": {},
            "PV_drivers_version": {},
            "PV_drivers_up_to_date": False,
            "networks": {},
            "other": {},
            "last_updated": None,
            "other_config": {},
            "live": False,
        },
        "rw": ("other_config",),
    },
    "VM_appliance": {
        "defaults": {
            "name_label": "",
            "name_description": "",
            "VMs": [],
            "allowed_operations": [],
            "current_operations": {},
        },
        "rw": ("name_label", "name_description"),
    },
    "SR": {
        "defaults": {
            "name_label": "",
            "name_description": "",
            "type": "lvmoiscsi",
            "content_type": "",
            "shared": True,
            "PBDs": [],
            "other_config": {},
            "tags": [],
        },
        "rw": COMMON_RW,
    },
    "task": {
        "defaults": {
            "name_label": "",
            "name_description": "",
            "status": "pending",
            "progress": 0.0,
            "result": "",
            "error_info": [],
            "created": EPOCH,
            "finished": EPOCH,
            "resident_on": NULL_REF,
            "allowed_operations": [],  # taskHelper.ml make; [cancel] while xenopsd runs it
            "current_operations": {},
            "type": "<none/>",
            "subtask_of": NULL_REF,
            "subtasks": [],
            "other_config": {},
        },
        "rw": ("other_config",),
    },
    # A host's server certificate (datamodel_certificate.ml; certificates.ml add_cert:
    # its validity and SHA-256/SHA-1 fingerprints in colon-separated upper hex).
    "Certificate": {
        "defaults": {
            "name": "",
            "type": "host",
            "host": NULL_REF,
            "not_before": EPOCH,
            "not_after": EPOCH,
            "fingerprint": "",
            "fingerprint_sha256": "",
            "fingerprint_sha1": "",
            "purpose": [],
        },
        "rw": (),
    },
    "PBD": {
        "defaults": {
            "host": NULL_REF,
            "SR": NULL_REF,
            "device_config": {},
            "currently_attached": False,
            "other_config": {},
        },
        "rw": ("other_config", "device_config"),
    },
}


# Classes xapi does not persist (datamodel.ml ~persist:PersistNothing): gone when xapi
# restarts, and in no backup.
IN_MEMORY = ("task",)


def as_stored(cls, field, value):
    """``value`` for field ``cls.field`` as the database keeps it. An int64 may come as a
    number (JSON-RPC, XML-RPC's <int>) or as a string of digits (the SDKs' XML-RPC), as
    rpclib's int64_of_rpc takes either; ValueError if the string is no number."""
    if type(CLASSES[cls]["defaults"][field]) is int and isinstance(value, str):
        return int(value)
    return value


# Reverse pointers xapi keeps in step: (class, field) -> (class, set field).
BACKLINKS = {
    ("VM", "resident_on"): ("host", "resident_VMs"),
    ("VM", "appliance"): ("VM_appliance", "VMs"),
    ("PBD", "host"): ("host", "PBDs"),
    ("PBD", "SR"): ("SR", "PBDs"),
    ("Certificate", "host"): ("host", "certificates"),
}
