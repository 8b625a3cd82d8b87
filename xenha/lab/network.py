"""The lab network: one bridge, one namespace and cable per host, partitions by routing.

Partitions use blackhole routes inside the hosts' namespaces: packets to the
other side are dropped silently, as on a real broken link, and only iproute2
is needed. (nftables works inside the lab's namespaces too, only the ``nft`` tool is
not installed by default; netem is not in this kernel, so there is no delay or loss.)
"""

from xenha.lab.proc import run

BRIDGE = "xhlab0"
PREFIX = "198.18.0."  # RFC 2544 benchmarking range; nothing here leaves the machine
GATEWAY = PREFIX + "1"
NETNS_PREFIX = "xhlab-"
VETH_PREFIX = "xhv"  # the bridge-side end of each machine's cable


def create_bridge():
    run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    run(["ip", "addr", "add", GATEWAY + "/24", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def lab_namespaces():
    out = run(["ip", "netns", "list"])
    return [line.split()[0] for line in out.splitlines() if line.startswith(NETNS_PREFIX)]


def _lab_links():
    """The bridge and the cables' bridge-side ends that exist."""
    lines = run(["ip", "-o", "link", "show"]).splitlines()
    names = (line.split(":")[1].strip().split("@")[0] for line in lines)
    return [n for n in names if n == BRIDGE or n.startswith(VETH_PREFIX)]


def lab_objects():
    """Every lab namespace, cable and bridge that exists (named as only the lab names them)."""
    return lab_namespaces() + _lab_links()


def remove_all():
    """Remove every lab cable, namespace and the bridge; idempotent.

    The cables go first and explicitly: a deleted namespace frees its veth only
    when the kernel gets round to it, and the next lab must not collide with it.
    """
    for name in _lab_links():
        if name != BRIDGE:
            run(["ip", "link", "del", name], check=False)
    for ns in lab_namespaces():
        run(["ip", "netns", "del", ns], check=False)
    run(["ip", "link", "del", BRIDGE], check=False)


class Cable:
    """A namespace with an ``eth0`` plugged into the lab bridge at ``address``."""

    def __init__(self, name, address, veth):
        self.netns = NETNS_PREFIX + name
        self.address = address
        self.veth = veth

    def plug(self):
        run(["ip", "netns", "add", self.netns])
        run(
            [
                "ip",
                "link",
                "add",
                self.veth,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                self.netns,
            ]
        )
        run(["ip", "link", "set", self.veth, "master", BRIDGE, "up"])
        for argv in (
            ["ip", "addr", "add", self.address + "/24", "dev", "eth0"],
            ["ip", "link", "set", "eth0", "up"],
            ["ip", "link", "set", "lo", "up"],
        ):
            self.ns(argv)

    def set_link(self, up):
        """Plug (True) or unplug (False) the cable at the bridge: a dead host answers nothing."""
        run(["ip", "link", "set", self.veth, "up" if up else "down"])

    def ns(self, argv, **kw):
        return run(["ip", "netns", "exec", self.netns] + argv, **kw)

    def block(self, address):
        self.ns(["ip", "route", "replace", "blackhole", address + "/32"])

    def unblock_all(self):
        out = self.ns(["ip", "route", "show", "type", "blackhole"])
        for line in out.splitlines():
            self.ns(["ip", "route", "del", "blackhole", line.split()[1]], check=False)


def partition(groups):
    """Cut every link between cables of different groups (a list of lists of Cables)."""
    for i, group in enumerate(groups):
        others = [c for j, g in enumerate(groups) if j != i for c in g]
        for cable in group:
            for other in others:
                cable.block(other.address)


def heal(cables):
    for cable in cables:
        cable.unblock_all()
