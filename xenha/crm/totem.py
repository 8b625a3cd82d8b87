"""The values of corosync.conf that are xenha's decisions (crm_templates/corosync.j2 writes
the file, the lab runs it): where the shared key lives, and the totem timings, how soon
a dead host is noticed against how long a network hiccup is ridden out without a
membership change (and so without a fence).

A host is declared lost ``token`` + ``consensus`` (1.2 x token, corosync's minimum)
after its last token: 2.86 s with the default 1300 ms. A hiccup shorter than about
``token`` - one token retransmit interval (token / 4.2) keeps the membership: knet
must not have taken the link down meanwhile, so its ping timeout is the token too.
"""

from xenha.model.spec import DEFAULT_TOKEN_MS

QDEVICE_TIMEOUT_MS = 2000
# The key corosync encrypts and signs with (``corosync-keygen`` writes it), on every node.
AUTHKEY = "/etc/corosync/authkey"


def timings(token_ms=DEFAULT_TOKEN_MS):
    """``[(key, value)]`` for corosync.conf's totem section."""
    return [
        ("token", token_ms),
        # Corosync adds 650 ms per node above two by default; the token is the token.
        ("token_coefficient", 0),
        # A link goes down only after as long as the token, and one pong brings it back.
        ("knet_ping_interval", token_ms // 4),
        ("knet_ping_timeout", token_ms),
        ("knet_pong_count", 1),
    ]


def lost_after(token_ms=DEFAULT_TOKEN_MS):
    """Seconds from a host's last token to the membership without it: token + consensus."""
    return token_ms * 2.2 / 1000


def qdevice_timings():
    """``[(key, value)]`` for quorum.device: with corosync-qdevice's defaults (10 s, 30 s
    while the membership changes) the arbiter notices a dead node's qdevice only after
    about 12 s, and the survivor of a two-node cluster waits that long for its vote
    before it may fence anything; 2 s brings that to about 2.4 s."""
    return [("timeout", QDEVICE_TIMEOUT_MS), ("sync_timeout", 2 * QDEVICE_TIMEOUT_MS)]
