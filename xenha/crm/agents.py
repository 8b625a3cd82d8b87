"""The one list of agent names and parameter names the generator emits.

The agents' own metadata is the source of truth; this module mirrors it so
that `tests/unit/test_crm_agents.py` (and a reviewer) can hold the two side by
side. Change names here only, never in templates or the model.
"""

import math

PROVIDER = "xenha"

VM_AGENT = "ocf:xenha:xen-vm"
MASTER_AGENT = "ocf:xenha:xapi-pool-master"
STORAGE_AGENT = "ocf:xenha:drbd-iscsi-target"
PING_AGENT = "ocf:pacemaker:ping"

# Parameters shared by xen-vm and xapi-pool-master: model key in pool.xapi -> agent parameter.
XAPI_PARAMS = {
    "url": "xapi_url",
    "user": "xapi_user",
    "password_file": "xapi_password_file",
    "ca_file": "xapi_ca_file",
    "fingerprint": "xapi_fingerprint",
    "insecure": "xapi_insecure",
}
# What the agents assume when a parameter is not given; the generator omits these values.
XAPI_DEFAULTS = {
    "xapi_url": "",
    "xapi_user": "root",
    "xapi_password_file": "/etc/xenha/xapi.secret",
    "xapi_insecure": "false",
}
HOST_MAP = "host_map"  # node1:host1;node2:host2
VM_PARAMS = ("vm", "shutdown_timeout", "check_guest")
STORAGE_PARAMS = ("drbd_resources", "target_iqn", "ip", "cidr_netmask", "nic", "sr_uuid")


# Fence agents: stonith:fence_xenha_<device> for each of xenha.model.spec.FENCE_DEVICE_TYPES.
def fence_agent(device):
    return "stonith:fence_xenha_" + device


# Seconds a fence action needs beyond power_wait + power_timeout: the login, the command and
# the last read-back, each bounded by the agents' login_timeout (5 s).
FENCE_MARGIN = 20
_TIMING = {}


def fence_timing(device):
    """The agent's own ``power_timeout`` and ``power_wait`` defaults (seconds) and whether it
    powers the node on again after a reboot's OFF, read from the agent's metadata."""
    if device not in _TIMING:
        import importlib
        import xml.etree.ElementTree as ET

        from xenha.fencing import metadata

        agent = importlib.import_module("stonith_plugins.fence_xenha_" + device).AGENT
        root = ET.fromstring(metadata.render(agent))
        default = {p.get("name"): p.find("content").get("default") for p in root.iter("parameter")}
        _TIMING[device] = {
            "power_timeout": float(default["power_timeout"]),
            "power_wait": float(default["power_wait"]),
            "powers_on": "on" in {a.get("name") for a in root.iter("action")},
        }
    return _TIMING[device]


def fence_timeouts(dev, stonith_timeout):
    """Pacemaker's own timeouts for a fence device (a checked model entry) whose off or reboot
    needs longer than ``stonith_timeout`` seconds: ``[("pcmk_off_timeout", "260s"), ...]``."""
    timing = fence_timing(dev["device"])
    wait, poll = (
        float(dev[k]) if dev.get(k) is not None else timing[k]
        for k in ("power_wait", "power_timeout")
    )
    off = wait + poll + FENCE_MARGIN
    reboot = 2 * off if timing["powers_on"] else off  # OFF read back, then ON read back
    needs = [("pcmk_off_timeout", off), ("pcmk_reboot_timeout", reboot)]
    return [(k, "%ds" % math.ceil(v)) for k, v in needs if v > stonith_timeout]


# Pacemaker alert agent that sends e-mail; `xenha install` puts it here. Its parameters are the
# alert's instance attributes, the e-mail addresses its recipients. Written here only.
ALERT_AGENT = "/usr/lib/xenha/alert-email"
