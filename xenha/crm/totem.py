"""The corosync totem timings xenha generates and the lab runs: how soon a dead host
is noticed against how long a network hiccup is ridden out without a membership
change (and so without a fence).

A host is declared lost ``token`` + ``consensus`` (1.2 x token, corosync's minimum)
after its last token: 2.86 s with the default 1300 ms. A hiccup shorter than about
``token`` - one token retransmit interval (token / 4.2) keeps the membership: knet
must not have taken the link down meanwhile, so its ping timeout is the token too.
"""

DEFAULT_TOKEN_MS = 1300


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
