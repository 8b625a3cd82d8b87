"""The agent names and parameters the generator writes, and what the agents assume
when a parameter is not given (so the generator can leave it out).

The agents' own declarations are the source of truth: the XAPI connection
parameters, xapi-pool-master's graces and their defaults are read from
:mod:`xenha.pool_agent` (where the plan reads both pool agents' operations too), the
fence agents' timing from :mod:`xenha.fencing.options`; tests/unit/test_crm_agents.py
holds the rest against each agent's metadata. Change names here only, never in templates.
"""

import collections
import math

from xenha.fencing import options as fence_options
from xenha.pool_agent import CONNECTION_PARAMETERS, MASTER_GRACES

VM_AGENT = "ocf:xenha:xen-vm"
MASTER_AGENT = "ocf:xenha:xapi-pool-master"
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
# What the pool agents assume when a parameter is not given; the generator omits these values.
XAPI_DEFAULTS = {p.name: p.default for p in CONNECTION_PARAMETERS}
# xapi-pool-master's graces: model key in pool.master -> agent parameter, and its defaults.
MASTER_PARAMS = {
    "xapi_restart_grace": "xapi_restart_grace",
    "isolation_grace": "isolation_grace",
}
MASTER_DEFAULTS = {p.name: p.default for p in MASTER_GRACES}
HOST_MAP = "host_map"  # node1:host1;node2:host2


def fence_agent(device):
    """The agent of a fence device type (xenha.model.spec.FENCE_DEVICE_TYPES)."""
    return "stonith:fence_xenha_" + device


# Seconds a fence action needs beyond power_wait + power_timeout: the login, the command and
# the last read-back, each bounded by the agents' login_timeout (5 s).
FENCE_MARGIN = 20

FenceTiming = collections.namedtuple("FenceTiming", "power_timeout power_wait powers_on")
# Where a fence agent's timing differs from fence-agents' defaults (fence_options.POWER_TIMEOUT,
# POWER_WAIT). Stated here because the library does not import the agents (stonith_plugins/).
_OWN_POWER_TIMEOUT = {"meatware": 240.0}  # the seconds a person has to confirm
_CANNOT_POWER_ON = ("meatware", "xapi")  # no 'on' action: their reboot is an off


def fence_timing(device):
    """The agent's own ``power_timeout`` and ``power_wait`` defaults (seconds) and whether it
    powers the node on again after a reboot's OFF."""
    return FenceTiming(
        power_timeout=_OWN_POWER_TIMEOUT.get(device, float(fence_options.POWER_TIMEOUT.default)),
        power_wait=float(fence_options.POWER_WAIT.default),
        powers_on=device not in _CANNOT_POWER_ON,
    )


def fence_timeouts(dev, stonith_timeout):
    """Pacemaker's own timeouts for a fence device (a checked model entry) whose off or reboot
    needs longer than ``stonith_timeout`` seconds: ``[("pcmk_off_timeout", "260s"), ...]``."""
    timing = fence_timing(dev["device"])
    wait, poll = (
        float(dev[k]) if dev.get(k) is not None else getattr(timing, k)
        for k in ("power_wait", "power_timeout")
    )
    off = wait + poll + FENCE_MARGIN
    reboot = 2 * off if timing.powers_on else off  # OFF read back, then ON read back
    needs = [("pcmk_off_timeout", off), ("pcmk_reboot_timeout", reboot)]
    return [(k, "%ds" % math.ceil(v)) for k, v in needs if v > stonith_timeout]


# Pacemaker alert agent that sends e-mail; `xenha install` puts it here. Its parameters are the
# alert's instance attributes, the e-mail addresses its recipients. Written here only.
ALERT_AGENT = "/usr/lib/xenha/alert-email"
