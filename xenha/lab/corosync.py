"""corosync.conf for the lab's hosts (every brace block on its own lines, as corosync wants),
with the totem timings xenha generates."""

from xenha.crm import totem
from xenha.crm.totem import DEFAULT_TOKEN_MS

TEMPLATE = """\
totem {{
	version: 2
	cluster_name: {cluster}
	transport: knet
{timings}	crypto_cipher: none
	crypto_hash: none
}}

logging {{
	to_stderr: no
	to_logfile: yes
	logfile: /var/log/corosync/corosync.log
	to_syslog: no
	timestamp: on
}}

quorum {{
	provider: corosync_votequorum
{quorum}}}

nodelist {{
{nodes}}}
"""

NODE = """\
	node {{
		name: {name}
		nodeid: {index}
		ring0_addr: {address}
	}}
"""


QDEVICE = """\
	device {{
		model: net
		votes: 1
{timings}		net {{
			host: {host}
			algorithm: ffsplit
			tls: off
		}}
	}}
"""

QUORUM_MODES = ("majority", "two-node", "qdevice")


def render(hosts, quorum="majority", token_ms=DEFAULT_TOKEN_MS, cluster="xenha-lab", arbiter=None):
    """Lab corosync.conf for ``quorum`` in QUORUM_MODES (``arbiter``: qnetd's address)."""
    if quorum == "qdevice":
        extra = QDEVICE.format(host=arbiter, timings=_lines(totem.qdevice_timings(), 2))
    elif quorum == "two-node":
        if len(hosts) != 2:
            raise ValueError("two-node quorum needs exactly 2 hosts, not %d" % len(hosts))
        extra = "\ttwo_node: 1\n"
    elif quorum == "majority":
        extra = ""
    else:
        raise ValueError("unknown quorum mode %r" % quorum)
    nodes = "".join(NODE.format(name=h.name, index=h.index, address=h.address) for h in hosts)
    timings = _lines(totem.timings(token_ms), 1)
    return TEMPLATE.format(cluster=cluster, timings=timings, quorum=extra, nodes=nodes)


def _lines(pairs, depth):
    """``key: value`` lines, indented ``depth`` tabs."""
    return "".join("\t" * depth + "%s: %s\n" % kv for kv in pairs)
