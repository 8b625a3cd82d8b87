"""The values of corosync.conf that are xenha's decisions (crm_templates/corosync.j2 writes
the file, the lab runs it): where the shared key lives, and the totem and qdevice timings,
how soon a dead host is noticed against how long a stall is ridden out without a
membership change (and so without a fence).

Two profiles (``cluster.timing``; docs/configuration.md weighs them):

* ``production`` (the default): corosync's own defaults, token 3000 ms plus 650 ms
  (``token_coefficient``) per node above two, and corosync-qdevice's (10 s, 30 s while
  the membership changes). Written out, so a corosync older than 3.1 (token 1000 ms)
  gets the same. A dom0 whose corosync stalls under storage I/O or a migration storm,
  or a management network saturated by migrations, keeps its membership for about 3 s.
* ``fast``: token 1300 ms, no coefficient, qdevice 2 s: a lost host is noticed in
  2.86 s, for the lab and benchmarks, where nothing stalls that long.

A host is declared lost ``token`` + ``consensus`` (1.2 x token, corosync's default and
minimum) after its last token, the token being the effective one (with the
coefficient). Both profiles keep knet's link up as long as the token: with knet's own
defaults (ping timeout half the token, two pongs to come back) the only link of a
cluster goes down halfway through a stall and comes back about half a token after it,
so a stall of half a token would already lose the token.
"""

from xenha.model.spec import TIMING_TOKEN_MS

# The key corosync encrypts and signs with (``corosync-keygen`` writes it), on every node.
AUTHKEY = "/etc/corosync/authkey"
# Per profile: milliseconds corosync adds to the token for every node above two.
TOKEN_COEFFICIENT_MS = {"production": 650, "fast": 0}
# Per profile: corosync-qdevice's quorum.device timeout and sync_timeout (ms).
QDEVICE_TIMEOUTS_MS = {"production": (10000, 30000), "fast": (2000, 4000)}
FAST_TOKEN_MS = TIMING_TOKEN_MS["fast"]


def effective_token(token_ms, timing, nodes):
    """The token corosync runs with (``runtime.config.totem.token``): ``token`` plus the
    coefficient for every node above two."""
    return token_ms + max(0, nodes - 2) * TOKEN_COEFFICIENT_MS[timing]


def timings(token_ms, timing, nodes, corosync=3):
    """``[(key, value)]`` for corosync.conf's totem section (Corosync 2's udpu has no
    knet link to time)."""
    token = effective_token(token_ms, timing, nodes)
    keys = [("token", token_ms), ("token_coefficient", TOKEN_COEFFICIENT_MS[timing])]
    if corosync < 3:
        return keys
    # A link goes down only after as long as the token, and one pong brings it back.
    return keys + [
        ("knet_ping_interval", token // 4),
        ("knet_ping_timeout", token),
        ("knet_pong_count", 1),
    ]


def lost_after(token_ms, timing, nodes):
    """Seconds from a host's last token to the membership without it: token + consensus."""
    return effective_token(token_ms, timing, nodes) * 2.2 / 1000


def qdevice_timings(timing):
    """``[(key, value)]`` for quorum.device. With corosync-qdevice's defaults (production)
    the arbiter notices a dead node's qdevice only after about 12 s, and the survivor of a
    two-node cluster waits that long for its vote before it may fence anything; fast's 2 s
    bring that to about 2.4 s, with that much less room for a stalled qdevice."""
    timeout, sync = QDEVICE_TIMEOUTS_MS[timing]
    return [("timeout", timeout), ("sync_timeout", sync)]
