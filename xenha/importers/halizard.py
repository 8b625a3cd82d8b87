"""Turn an HA-Lizard configuration into a description, saying what each old setting became.

Input: the output of ``ha-cfg get`` (``KEY=VALUE`` lines), the cluster nodes
(HA-Lizard has no cluster stack, so names and addresses are new), and an
``ILO.hosts``-style map (``host-uuid:address`` lines) for the fence devices.
Secrets (FENCE_PASSWD, SMTP_PASS) are never copied: the report says which
password_file to create instead.
"""

import re

from xenha.crm.agents import XAPI_DEFAULTS
from xenha.model.source import ModelError

# HA-Lizard's FENCE_METHOD -> the fence device type (anything else: a fence script).
DEVICE_OF_FENCE_METHOD = {"ILO": "ilo", "IRMC": "irmc", "XVM": "xvm", "POOL": "xapi"}
# POOL fencing logs in to XAPI with the password the pool agents read by default.
POOL_SECRET = XAPI_DEFAULTS["xapi_password_file"]

# Settings whose job Pacemaker/Corosync or the agents now do, and why nothing is carried over.
NO_EQUIVALENT = {
    "MONITOR_DELAY": "Pacemaker monitors each resource on its own interval (xen-vm: 30 s)",
    "MONITOR_SCANRATE": "Pacemaker monitors each resource on its own interval (xen-vm: 30 s)",
    "MONITOR_KILLALL": "there is no HA-Lizard monitor process to kill; Pacemaker supervises",
    "XAPI_COUNT": "Corosync membership (token timeout) decides that a host is dead",
    "XAPI_DELAY": "Corosync membership (token timeout) decides that a host is dead",
    "XE_TIMEOUT": "the agents bound every XAPI call with their own timeouts",
    "PROMOTE_SLAVE": "the xapi-pool-master promotable clone always promotes a survivor",
    "SLAVE_HA": "every node runs Pacemaker; the DC decides, with quorum",
    "SLAVE_VM_STAT": "every node monitors the VMs it runs",
    "FENCE_ACTION": "Pacemaker fences with its own action (reboot by default; off read back)",
    "FENCE_HA_ONFAIL": "a failed fence is retried; nothing starts elsewhere until one succeeds",
    "FENCE_MIN_HOSTS": "quorum decides who may fence (quorum section)",
    "FENCE_QUORUM_REQUIRED": "always on: without quorum nothing is fenced or started",
    "FENCE_REBOOT_LONE_HOST": "no-quorum-policy=stop stops resources on a node without quorum",
    "FENCE_HOST_FORGET": "fenced hosts stay pool members; xen-vm cleans up their VM records",
    "FENCE_FILE_LOC": "fence agents are installed by `xenha install`",
    "MAIL_SUBJECT": "the alert agent writes its own subject (event and node)",
    "ENABLE_LOGGING": "agents log through Pacemaker (syslog/journal)",
}


def parse_settings(text):
    """``KEY=VALUE`` lines -> {KEY: value} (quotes stripped, case of keys normalised)."""
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        settings[key.strip().upper()] = value.strip().strip("'\"")
    return settings


def parse_hosts(text):
    """``host-uuid:address`` lines -> {uuid: address}."""
    hosts = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            uuid, address = line.split(":", 1)
            hosts[uuid.strip()] = address.strip()
    return hosts


def _split(value):
    return [v for v in re.split(r"[\s:,()]+", value) if v]


def _email(value):
    return bool(value) and "@" in value and not value.startswith("<")


def build(settings, nodes, hosts, xapi_address=None):
    """(description dict, report lines) from parsed inputs; ``nodes`` = [(name, uuid, addr)];
    ``xapi_address``: the XAPI endpoint POOL fencing talks to."""
    report = []
    done = set()

    def said(key, text):
        done.add(key)
        report.append("%s=%s -> %s" % (key, settings.get(key, ""), text))

    method = settings.get("FENCE_METHOD", "POOL").upper()
    device = DEVICE_OF_FENCE_METHOD.get(method, "script")
    if method == "POOL" and not xapi_address:
        raise ModelError(
            "FENCE_METHOD=POOL: give --xapi-address, the pool's XAPI address that "
            "fence_xenha_xapi asks to declare a lost host dead"
        )
    if method == "XVM" and not settings.get("FENCE_IPADDRESS"):
        raise ModelError("FENCE_METHOD=XVM needs FENCE_IPADDRESS (the Dom0's XAPI address)")
    desc_nodes = []
    for name, uuid, address in nodes:
        dev = {"device": device}
        if method in ("ILO", "IRMC"):
            if uuid not in hosts:
                raise ModelError("host %s (node %s) is not in the hosts file" % (uuid, name))
            dev["ip"] = hosts[uuid]
        elif method == "XVM":
            dev.update(ip=settings["FENCE_IPADDRESS"], plug=uuid)
        elif method == "POOL":
            dev.update(ip=xapi_address, plug=uuid, username="root", password_file=POOL_SECRET)
        desc_nodes.append({"name": name, "host": uuid, "address": address, "fencing": [dev]})
    if device == "xapi":
        said(
            "FENCE_METHOD",
            "fencing device 'xapi' on every node: ip %s, plug the host UUID, password_file %s "
            "(write the pool's root password there, mode 0600; add ssl_ca_file with the pool's "
            "CA, the certificate is verified). cluster.allow_pool_only_fencing: true keeps "
            "HA-Lizard's behaviour, but POOL fencing cuts no power: it declares the host dead, "
            "so a host that is merely cut off keeps running its VMs. Add a power device (ilo, "
            "drac, irmc, apc, meatware) to each node's fencing (xenha tries it before xapi, "
            "wherever it is listed) and remove allow_pool_only_fencing, unless "
            "storage-level protection keeps a lost host off the disks"
            % (xapi_address, POOL_SECRET),
        )
    else:
        said("FENCE_METHOD", "fencing device %r on every node" % device)
    if "FENCE_IPADDRESS" in settings:
        said("FENCE_IPADDRESS", "ip of the xvm devices" if method == "XVM" else "unused (not XVM)")
    if "FENCE_PASSWD" in settings:
        done.add("FENCE_PASSWD")
        report.append(
            "FENCE_PASSWD -> not copied (secrets are referenced): put it in a root-only file "
            "and add username + password_file to each fence device"
        )
    if settings.get("FENCE_ENABLED", "1") == "0":
        said("FENCE_ENABLED", "ignored: xenha always fences (stonith-enabled=true)")
    else:
        said("FENCE_ENABLED", "stonith-enabled=true")

    desc = {"cluster": {"name": "pool", "nodes": desc_nodes}}
    if device == "xapi":
        desc["cluster"]["allow_pool_only_fencing"] = True
    heuristics = _split(settings.get("FENCE_HEURISTICS_IPS", ""))
    if settings.get("FENCE_USE_IP_HEURISTICS") == "1" and heuristics:
        desc["connectivity"] = {"ping": heuristics}
        said(
            "FENCE_USE_IP_HEURISTICS",
            "connectivity.ping; for a quorum vote from these addresses run corosync-qnetd "
            "and set quorum.mode: qdevice with qdevice.heuristics",
        )
        said("FENCE_HEURISTICS_IPS", "connectivity.ping %s" % heuristics)

    pool = {"mode": "appliances" if settings.get("OP_MODE") == "1" else "vms"}
    said("OP_MODE", "pool.mode: %s" % pool["mode"])
    pool["protect"] = "all" if settings.get("GLOBAL_VM_HA", "1") == "1" else "flagged"
    said("GLOBAL_VM_HA", "pool.protect: %s" % pool["protect"])
    if settings.get("XC_FIELD_NAME"):
        pool["flag_field"] = settings["XC_FIELD_NAME"]
        said("XC_FIELD_NAME", "pool.flag_field")
    excluded = _split(settings.get("DISABLED_VAPPS", ""))
    if excluded:
        pool["excluded_appliances"] = excluded
    said("DISABLED_VAPPS", "pool.excluded_appliances %s" % excluded)
    desc["pool"] = pool
    report.append("(VMs/appliances: run `xenha config discover` or list them under vms:)")

    if settings.get("MONITOR_MAX_STARTS", "").isdigit():
        desc["resources"] = {"migration_threshold": int(settings["MONITOR_MAX_STARTS"])}
        said("MONITOR_MAX_STARTS", "resources.migration_threshold (failures before moving)")

    if settings.get("MAIL_ON") == "1" and _email(settings.get("MAIL_TO")):
        smtp = {"server": settings.get("SMTP_SERVER") or "localhost"}
        if settings.get("SMTP_PORT", "").isdigit():
            smtp["port"] = int(settings["SMTP_PORT"])
        if settings.get("SMTP_USER"):
            smtp["user"] = settings["SMTP_USER"]
            smtp["password_file"] = "/etc/xenha/smtp.secret"
            smtp["starttls"] = True  # alert-email sends a password only over TLS
        if _email(settings.get("MAIL_FROM")):
            smtp["from"] = settings["MAIL_FROM"]
        desc["alerts"] = {"recipients": _split(settings["MAIL_TO"]), "smtp": smtp}
        for key in ("MAIL_ON", "MAIL_TO", "MAIL_FROM", "SMTP_SERVER", "SMTP_PORT", "SMTP_USER"):
            if key in settings:
                said(key, "alerts")
    else:
        for key in ("MAIL_ON", "MAIL_TO", "MAIL_FROM", "SMTP_SERVER", "SMTP_PORT", "SMTP_USER"):
            if key in settings:
                said(key, "no alerts (mail off or no recipient address)")
    if "SMTP_PASS" in settings:
        done.add("SMTP_PASS")
        report.append(
            "SMTP_PASS -> not copied (secrets are referenced): write it to "
            "/etc/xenha/smtp.secret (owner root, group haclient, mode 0640: alerts run "
            "as hacluster)"
        )
    for key in sorted(settings):
        if key in done:
            continue
        reason = NO_EQUIVALENT.get(key)
        if reason:
            report.append("%s=%s -> no equivalent: %s" % (key, settings[key], reason))
        else:
            report.append("%s=%s -> not recognised; ignored" % (key, settings[key]))
    return desc, report


def convert(settings_path, node_specs, hosts_path=None, xapi_address=None):
    """Read the files, return (YAML text of a checked description, report lines)."""
    import yaml

    from xenha import model

    nodes = []
    for spec in node_specs:
        parts = [p.strip() for p in spec.split(",")]
        if len(parts) != 3 or not all(parts):
            raise ModelError("--node %r: expected NAME,HOST_UUID,ADDRESS" % spec)
        nodes.append(tuple(parts))
    settings = parse_settings(_read(settings_path))
    hosts = parse_hosts(_read(hosts_path)) if hosts_path else {}
    desc, report = build(settings, nodes, hosts, xapi_address)
    text = "# Imported from HA-Lizard settings %s by `xenha config import-halizard`.\n" % (
        settings_path
    )
    text += yaml.safe_dump(desc, default_flow_style=False, sort_keys=False)
    model.loads(text, "the imported description")  # refuse to write what would not validate
    return text, report


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        raise ModelError("cannot read %s: %s" % (path, e.strerror)) from None
