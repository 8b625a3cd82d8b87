"""The description's keys: each one's type, default and meaning (the reference for the
file format; docs/configuration.md explains it). Checked by :mod:`xenha.model.fields`;
the rules that tie keys together are in :mod:`xenha.model.checks`."""

from xenha.crm import agents, totem
from xenha.model.fields import Field

S, I, B, D = "str", "int", "bool", "duration"  # noqa: E741


def _list(item):
    return Field("list", item=item)


def _map(spec, **kw):
    return Field("map", spec=spec, **kw)


FENCE_DEVICE = dict(
    {p: Field(S) for p in agents.FENCE_PARAMS},
    device=Field(S, required=True, choices=agents.FENCE_DEVICES, doc="the fence device type"),
    level=Field(I, doc="fencing level; devices with the same level must all succeed"),
    ssl_insecure=Field(B),
    power_timeout=Field("timeout"),
    power_wait=Field("seconds"),
    **{alias: Field(S) for alias in agents.FENCE_ALIASES},
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
            "token_ms": Field(
                I, default=totem.DEFAULT_TOKEN_MS, doc="corosync's token timeout (ms)"
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
