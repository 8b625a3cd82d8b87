"""The description's keys: each one's type, default and meaning (the reference for the
file format; docs/configuration.md explains it). Checked by :mod:`xenha.model.fields`;
the rules that tie keys together are in :mod:`xenha.model.checks`."""

from xenha.model.fields import Field

S, I, B, D = "str", "int", "bool", "duration"  # noqa: E741

# cluster.timing: the profiles of corosync's and corosync-qdevice's timings
# (xenha.crm.totem), each with its token timeout (ms) when cluster.token_ms is not given.
# production rides out dom0 stalls (storage I/O, migration storms) with corosync's own
# defaults; fast notices a lost host sooner, for the lab and benchmarks.
# docs/configuration.md weighs them.
TIMING_TOKEN_MS = {"production": 3000, "fast": 1300}
DEFAULT_TIMING = "production"

# The fence device types of `device:`; each is the fence agent fence_xenha_<type>.
FENCE_DEVICE_TYPES = ("ilo", "drac", "irmc", "apc", "ssh", "meatware", "xapi", "xvm", "script")
# Device types whose agents are for test labs only: refused unless cluster.lab is true, and
# `xenha install` puts their agents in place only with --lab.
LAB_ONLY_FENCE_DEVICES = ("ssh",)
# The `method:` each device type offers.
FENCE_METHODS = {
    "ilo": ("ribcl", "ipmi", "redfish"),
    "drac": ("racadm", "ipmi", "redfish"),
    "irmc": ("ipmi", "redfish"),
}
# The keys of a fence device handed to its agent as they are: fence-agents' option names.
FENCE_AGENT_OPTIONS = (
    "ip",
    "ipport",
    "username",
    "password_file",
    "password_script",
    "plug",
    "method",
    "ssl_insecure",
    "ssl_ca_file",
    "snmp_version",
    "power_timeout",
    "power_wait",
)
# Older names accepted for them: alias -> the option's name.
FENCE_OPTION_ALIASES = {"login": "username", "passwd_script": "password_script", "port": "plug"}
# Keys the agents accept for compatibility but a description refuses in any mapping, because
# they would hold a secret (secrets are referenced), each with the reason and what to write.
_SECRET = "inline secret refused; secrets are never written into the description: "
_REFERENCE = _SECRET + "use password_file (or password_script)"
INLINE_SECRETS = {
    "password": _REFERENCE,
    "passwd": _REFERENCE,
    # Whoever reads the CIB could switch the PDU's outlets with a write community.
    "community": _SECRET + "the SNMP write community is one too; write it to a root-only file "
    "and set password_file (or password_script), fence_xenha_apc reads the community from there",
}


def _list(item):
    return Field("list", item=item)


def _map(spec, **kw):
    return Field("map", spec=spec, refused=INLINE_SECRETS, **kw)


FENCE_DEVICE = dict(
    {p: Field(S) for p in FENCE_AGENT_OPTIONS},
    device=Field(S, required=True, choices=FENCE_DEVICE_TYPES, doc="the fence device type"),
    level=Field(I, doc="fencing level; devices with the same level must all succeed"),
    ssl_insecure=Field(B),
    power_timeout=Field("timeout"),
    power_wait=Field("seconds"),
    **{alias: Field(S) for alias in FENCE_OPTION_ALIASES},
)

NODE = {
    "name": Field(S, required=True, doc="the Pacemaker/Corosync node name"),
    "host": Field(S, doc="pool host UUID or unique name-label (default: the node name)"),
    "address": Field(S, required=True, doc="the node's cluster (corosync ring0) address"),
    "fencing": _list(_map(FENCE_DEVICE)),
    "allow_no_fencing": Field(B, default=False),
    "allow_pool_only_fencing": Field(B, doc="default: cluster.allow_pool_only_fencing"),
}
# Fence devices that reach their target through an address, and what that address is.
FENCE_ADDRESS = {
    "ilo": "the ilo device's address",
    "drac": "the drac device's address",
    "irmc": "the irmc device's address",
    "apc": "the PDU's address",
    "xapi": "the pool's XAPI endpoint that declares the host dead; the client follows the master",
    "xvm": "the Dom0's XAPI address",
}

VM = {
    "vm": Field(S, required=True, doc="VM UUID (or unique name-label)"),
    "name": Field(S, doc="short name for the resource id"),
    "id": Field(S, doc="Pacemaker resource id (default vm-NAME)"),
    "priority": Field(I, default=0),
    "start_after": _list(Field(S)),
    "migrate": Field(B, default=True),
    "preferred_host": Field(S),
    "check_guest": Field(B, default=False),
    "shutdown_timeout": Field(I),
    "uses_storage": Field(B),
}

SPEC = {
    "cluster": _map(
        {
            "name": Field(S, required=True, doc="the cluster name"),
            "nodes": _list(_map(NODE)),
            "allow_pool_only_fencing": Field(B, default=False),
            "lab": Field(B, default=False, doc="a test lab; enables test-only devices"),
            "timing": Field(
                S,
                default=DEFAULT_TIMING,
                choices=tuple(TIMING_TOKEN_MS),
                doc="corosync's timing profile: production (default) or fast (labs)",
            ),
            "token_ms": Field(I, doc="corosync's token timeout (ms; default: the profile's)"),
            "pacemaker": Field(
                S,
                choices=("1.1", "2.0", "2.1", "3.0"),
                doc="the Pacemaker the configuration is for (default: this machine's, else "
                "2.1; xenha.crm.targets)",
            ),
        },
        required=True,
    ),
    "quorum": _map(
        {
            "mode": Field(S, choices=("two_node", "qdevice", "majority")),
            "no_quorum_policy": Field(S, default="stop", choices=("stop", "freeze", "suicide")),
            "qdevice": _map(
                {
                    "host": Field(S, doc="the corosync-qnetd arbiter's address"),
                    "algorithm": Field(S, default="ffsplit", choices=("ffsplit", "lms")),
                    "tie_breaker": Field(S, default="lowest"),
                    "tls": Field(
                        S,
                        default="on",
                        choices=("on", "off", "required"),
                        doc="TLS to the arbiter (corosync-qdevice's net.tls; off needs no NSS db)",
                    ),
                    "heuristics": _list(Field(S)),
                    "heuristics_mode": Field(S, default="sync", choices=("sync", "on", "off")),
                }
            ),
        }
    ),
    "connectivity": _map(
        {
            "ping": _list(Field(S)),
            "multiplier": Field(I, default=1000),
            "dampen": Field(D, default="5s"),
            "on_loss": Field(S, default="move", choices=("move", "stop")),
        }
    ),
    "fencing": _map(
        {
            "race_delay": Field(D, default="15s"),
            "timeout": Field(D, default="90s"),
        }
    ),
    "pool": _map(
        {
            "xapi": _map(
                {
                    "url": Field(S, doc="empty: the host's local XAPI socket"),
                    "user": Field(S),
                    "password_file": Field(S),
                    "ca_file": Field(S),
                    "fingerprint": Field(S),
                    "insecure": Field(B),
                }
            ),
            "mode": Field(S, default="vms", choices=("vms", "appliances")),
            "protect": Field(S, default="flagged", choices=("all", "flagged")),
            "flag_field": Field(S, default="ha-lizard-enabled"),
            "excluded_appliances": _list(Field(S)),
            # xapi-pool-master's graces; unset: the agent's own defaults (declared in
            # xenha.pool_agent.MASTER_GRACES), which the generator leaves out.
            "master": _map(
                {
                    "xapi_restart_grace": Field(
                        "whole_seconds",
                        doc="how long a monitor trusts pool.conf while xapi does not answer",
                    ),
                    "isolation_grace": Field(
                        "whole_seconds",
                        doc="how long a master may reach no other member's xapi before it "
                        "is fenced",
                    ),
                }
            ),
        }
    ),
    "vms": _list(_map(VM)),
    "appliances": _list(
        _map(
            {
                "name": Field(S, required=True, doc="the appliance (vApp) name"),
                "uuid": Field(S),
                "vms": _list(_map(VM)),
            }
        )
    ),
    "storage": _map(
        {
            "drbd_resources": _list(Field(S)),
            "target_iqn": Field(S, required=True, doc="the iSCSI target IQN"),
            "ip": Field(S, required=True, doc="the floating IP the SR points at"),
            "cidr_netmask": Field(I, required=True, doc="the floating IP's prefix length"),
            "nic": Field(S, required=True, doc="the interface for the floating IP"),
            "sr_uuid": Field(S, required=True, doc="the iSCSI SR's UUID"),
        },
        default=False,
    ),
    "alerts": _map(
        {
            "recipients": _list(Field(S)),
            "smtp": _map(
                {
                    "server": Field(S, default="localhost"),
                    "port": Field(I, default=25),
                    "user": Field(S),
                    "password_file": Field(S),
                    "starttls": Field(B, default=False),
                    "from": Field(S),
                }
            ),
            "suppress_minutes": Field(I, default=60),
        },
        default=False,
    ),
    "resources": _map(
        {
            "stickiness": Field(I, default=1000),
            "migration_threshold": Field(I, default=3),
            "failure_timeout": Field(D, default="10min"),
        }
    ),
}
