"""What the xen-vm and xapi-pool-master agents share: XAPI connection parameters,
the map from Pacemaker node names to pool hosts, and the fencing check that must
pass before anything a dead host held is taken over; and xapi-pool-master's graces,
whose defaults the generator reads too, and both agents' operations, which it writes.

Pool hosts are identified by UUID or unique name-label; by default a node's host
is the host whose name-label is the node name, ``host_map`` overrides that.
"""

import contextlib
import os
import time
import types

from xenha import ocf, pacemaker
from xenha.deadline import Deadline
from xenha.errors import XenhaError

NULL_REF = "OpaqueRef:NULL"

# How long one XAPI call of an action may take, by the kind of action: (fraction of the
# action's timeout, at most so many seconds). A client that followed a master which
# stopped answering retries once through the configured endpoint, so no call gets more
# than two fifths of its action's time: two tries still leave the action time to answer.
QUICK = (0.25, 10.0)  # a quick action's calls: monitor, validate-all, migrate_from
STEPS = (0.25, 30.0)  # a long action's calls between its polls: promote, demote, migrate_to
WORK = (0.4, None)  # an action whose one call does the work: start (VM.start_on), stop


# Until when an action's XAPI calls retry xapi restarting (xenha.xapi.retry): 0.9 of its
# timeout, less one call's timeout, so that the last try ends in time to report.
PATIENCE = 0.9
# The node attribute (lifetime reboot: gone when the node leaves) by which xapi-pool-master
# on a host parked at boot (xenha.boot_role) tells the cluster that its xapi is no master
# and, so long as it is set, has joined no pool since it booted: its address.
PARKED = "xenha-pool-parked"
# The node attribute (lifetime reboot) by which xapi-pool-master tells the cluster that its
# host is in XenCenter's maintenance mode ("true"): the generated configuration moves VMs
# off such a host (xenha.crm.plan), live, as the operator meant.
MAINTENANCE = "xenha-host-maintenance"
# The node attribute (lifetime reboot) by which xapi-pool-master tells which xenha version
# its node runs, so `xenha check` on any node sees every node's (xenha.check).
VERSION = "xenha-version"
PROBE_TIMEOUT = 3.0  # seconds for another host's xapi to say which master it follows
# Seconds an action waits for a node back from its fence to say it booted parked (PARKED):
# it says so from its probe, which Pacemaker runs only once the transition of the action
# waiting for it has ended, so a longer wait would wait for nothing.
PARKED_PATIENCE = 10.0


def patience(res, timeout, until=PATIENCE):
    """The Deadline until which ``res``'s calls (each up to ``timeout`` s) retry."""
    return res.budget.fraction(max(0.0, until - timeout / max(res.timeout, 1)))


def call_timeout(res, budget):
    """Seconds per XAPI call of ``res``'s action under ``budget`` (QUICK, STEPS, WORK)."""
    fraction, cap = budget
    seconds = res.timeout * fraction
    return seconds if cap is None else min(cap, seconds)


def parse_host_map(text):
    """``node1:host1;node2:host2`` -> {node: host}; hosts are UUIDs or name-labels."""
    mapping = {}
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        node, sep, host = item.partition(":")
        if not sep or not node.strip() or not host.strip():
            raise ValueError("%r is not node:host" % item)
        if node.strip() in mapping:
            raise ValueError("node %s is mapped twice" % node.strip())
        mapping[node.strip()] = host.strip()
    return mapping


CONNECTION_PARAMETERS = [
    ocf.Parameter(
        "xapi_url",
        "XAPI URL (empty: this host's local socket)",
        "Where to reach XAPI: empty for the local socket /var/lib/xcp/xapi (the normal "
        "case on a pool host), else https://HOST[:PORT]. Requests to a slave follow the "
        "pool master.",
        default="",
    ),
    ocf.Parameter("xapi_user", "XAPI user", "The user to log in to XAPI as.", default="root"),
    ocf.Parameter(
        "xapi_password_file",
        "File holding the XAPI password",
        "A root-only file whose content is the XAPI password (never put the password "
        "itself in the configuration).",
        default="/etc/xenha/xapi.secret",
    ),
    ocf.Parameter(
        "xapi_ca_file",
        "CA bundle for XAPI's TLS certificate",
        "PEM file of the certificate authorities that sign the pool's XAPI certificates.",
        default="",
    ),
    ocf.Parameter(
        "xapi_fingerprint",
        "SHA-256 fingerprint of XAPI's TLS certificate",
        "Pin XAPI certificates by SHA-256 fingerprint instead of a CA: one per pool host, "
        "separated by ',' or ';'. Each host has its own certificate since XCP-ng 8.2 / "
        "XenServer 8, and the master reached after HOST_IS_SLAVE must match one too.",
        default="",
    ),
    ocf.Parameter(
        "xapi_insecure",
        "Skip TLS verification (lab only)",
        "Do not verify XAPI's TLS certificate. Never in production.",
        type="boolean",
        default="false",
    ),
    ocf.Parameter(
        "host_map",
        "Pacemaker node name to pool host map",
        "node1:host1;node2:host2 - which pool host (UUID or unique name-label) each "
        "Pacemaker node is. Default: the host whose name-label is the node name.",
        default="",
        parse=parse_host_map,
    ),
]


# xapi-pool-master's graces. Only that agent reads them, but the generator leaves out
# their defaults (xenha.crm.agents, for pool.master in a description), so they are
# declared here, once, where both can read them.
MASTER_GRACES = [
    ocf.Parameter(
        "xapi_restart_grace",
        "Seconds a monitor trusts pool.conf while xapi does not answer",
        "While this host's xapi refuses connections or is still booting (a toolstack "
        "restart, a master change), monitor reports the role pool.conf configures, with "
        "a warning; once xapi has not answered for this long, monitor fails.",
        type="integer",
        default="120",
        parse=ocf.positive,
    ),
    ocf.Parameter(
        "isolation_grace",
        "Seconds a master may reach no other member host's xapi",
        "When this host is the master and has reached the xapi of none of the other "
        "pool hosts whose nodes are cluster members for this long (its management "
        "network is cut while corosync still sees it), its Promoted monitor fails, "
        "and the generated on-fail=fence has its node fenced so a slave can take over.",
        type="integer",
        default="20",
        parse=ocf.positive,
    ),
]


# The operations of both pool agents, as their metadata advertises them (each agent
# declares its handlers with ``@AGENT.action(spec)``) and as the generator writes them
# (xenha.crm.plan): declared once, here, so the configuration's timeouts and intervals
# are the agents' own and crmsh finds none below the advised one. Seconds. Both roles'
# monitors need intervals of their own (Pacemaker keys an operation by name and interval).
VM_ACTIONS = types.SimpleNamespace(
    start=ocf.ActionSpec("start", 300),
    stop=ocf.ActionSpec("stop", 300),
    monitor=ocf.ActionSpec("monitor", 60, interval=30, depth=0),
    guest_monitor=ocf.ActionSpec("monitor", 90, interval=120, depth=10),  # check_guest
    migrate_to=ocf.ActionSpec("migrate_to", 600),
    migrate_from=ocf.ActionSpec("migrate_from", 120),
)
MASTER_ACTIONS = types.SimpleNamespace(
    start=ocf.ActionSpec("start", 120),
    stop=ocf.ActionSpec("stop", 120),
    promoted_monitor=ocf.ActionSpec("monitor", 60, interval=10, role="Promoted"),
    unpromoted_monitor=ocf.ActionSpec("monitor", 60, interval=11, role="Unpromoted"),
    promote=ocf.ActionSpec("promote", 300),
    demote=ocf.ActionSpec("demote", 120),
    notify=ocf.ActionSpec("notify", 30),
)


def xapi_time(value):
    """Epoch seconds of an XML-RPC DateTime (``20261121T22:00:00Z``), None if unset."""
    import calendar

    text = str(getattr(value, "value", value)).rstrip("Z")
    try:
        stamp = calendar.timegm(time.strptime(text, "%Y%m%dT%H:%M:%S"))
    except ValueError:
        return None
    return stamp if stamp > 0 else None


class Pool:
    """One action's view of the pool through XAPI, from this node."""

    def __init__(self, res, timeout, until=PATIENCE):
        """Calls of at most ``timeout`` s each, retrying xapi restarting until ``until``
        (a fraction of the action's timeout: :func:`patience`)."""
        from xenha.xapi import Client, Settings

        p = res.params
        self.res = res
        settings = Settings(
            url=p.xapi_url or None,
            user=p.xapi_user,
            password_file=p.xapi_password_file or None,
            ca_file=p.xapi_ca_file or None,
            fingerprint=p.xapi_fingerprint or None,
            insecure=p.xapi_insecure,
            timeout=timeout,
        )
        cache = os.path.join(res.env.get("HA_RSCTMP", "/run/resource-agents"), "xenha-xapi")
        self.until = until
        self.client = Client(
            settings,
            originator="xenha-" + res.agent.name,
            cache_dir=cache,
            patience=patience(res, timeout, until),
        )
        self.api = self.client.xenapi
        self._local = None

    def close(self):
        self.client.close()

    def node(self):
        return pacemaker.node_name(self.res.env)

    def host_of_node(self, node):
        """The host ref of Pacemaker node ``node``."""
        name = self.res.params.host_map.get(node, node)
        try:
            return self.client.resolve_host(name)
        except XenhaError as e:
            if is_xapi_failure(e):
                raise
            raise XenhaError(
                "cannot find the pool host of node %s (%s): %s; set host_map" % (node, name, e)
            ) from None

    def local_host(self):
        """The host ref of this node; :class:`LocalSetupError` if it has none."""
        if self._local is None:
            try:
                self._local = self.host_of_node(self.node())
            except XenhaError as e:
                if is_xapi_failure(e):
                    raise
                raise LocalSetupError(str(e)) from None
        return self._local

    def node_of_host(self, host):
        """The Pacemaker node name of host ref ``host`` (host_map, else its name-label)."""
        for node in self.res.params.host_map:
            if self.host_of_node(node) == host:
                return node
        return self.api.host.get_name_label(host)

    def with_timeout(self, seconds):
        """The same pool and session with another per-call timeout."""
        return Pool(self.res, seconds, self.until)

    def local_view(self):
        """The same questions through this host's slave-local session (master gone)."""
        import copy

        view = copy.copy(self)
        view.client = self.client.emergency()
        view.api = view.client.xenapi
        view._local = None
        return view

    def last_seen(self, host):
        """Epoch of the pool's last sign of life from ``host``: its last heartbeat
        (host_metrics.last_updated) or boot (other_config boot_time), None if unknown."""
        times = [xapi_time(self.api.host_metrics.get_last_updated(self.api.host.get_metrics(host)))]
        boot = self.api.host.get_other_config(host).get("boot_time", "")
        try:
            times.append(int(float(boot)))
        except ValueError:
            pass
        known = [t for t in times if t]
        return max(known) if known else None

    def describe(self, host):
        return "%s (%s)" % (self.api.host.get_name_label(host), self.api.host.get_uuid(host))

    def rival_master(self, here):
        """This host's own xapi answers as a master: is it the pool's? Asks the other
        hosts whose nodes are cluster members which master they follow
        (:meth:`leaders`); each that answers backs that master, one answering as a
        master backs itself, and this host backs itself. None: this host has the most
        backing (or there is no other member). Else the address of the master with
        more: this host is an old master back from its fence, master of its own split
        pool until it rejoins (its xapi goes on as master through the rejoin's fuse).
        A tie is broken by the fencing history (:meth:`stale_in_a_tie`). When no member
        answers, a host never fenced is no old master (a master is replaced only once
        fenced); one that was is "cannot tell" (an OCF error) after half the action's
        time: the others may be restarting to follow another master."""
        from xenha.xapi import XapiUnreachable

        members = pacemaker.members()
        mine = self.api.host.get_address(here)
        peers = [
            self.api.host.get_address(h)
            for h in self.api.host.get_all()
            if h != here and self.node_of_host(h) in members
        ]
        if not peers:
            return None
        said = {}

        def answered():  # asked again while they restart (up to half the action's time)
            said.update(self.leaders(peers))
            return any(a is None or isinstance(a, str) for a in said.values())

        if not answered():
            if pacemaker.fenced_since(self.node(), 0) is None:
                return None  # a master is replaced only once fenced: this one never was
            if not self.res.budget.fraction(0.5).poll(answered, 1.0):
                raise ocf.generic(
                    "this host's xapi acts as the pool master, and none of the other "
                    "members' xapi answers to confirm it (%s)"
                    % "; ".join(str(a) for a in said.values() if isinstance(a, XapiUnreachable))
                )
        votes = {mine: 1}
        for address, leader in said.items():
            if leader == address:
                continue  # parked at boot (its own slave): no master, backing none
            if leader is None or isinstance(leader, str):
                votes[leader or address] = votes.get(leader or address, 0) + 1
        best = max(n for a, n in votes.items() if a != mine) if len(votes) > 1 else 0
        rivals = sorted(a for a, n in votes.items() if a != mine and n == best)
        if best > votes[mine]:
            return rivals[0]
        if best == votes[mine]:
            hosts = {self.api.host.get_address(h): h for h in self.api.host.get_all()}
            if len(rivals) > 1 or rivals[0] not in hosts:
                raise ocf.generic(
                    "this host's xapi and %s act as the pool master, as many hosts "
                    "backing each: cannot tell which is the pool's" % ", ".join(rivals)
                )
            return rivals[0] if self.stale_in_a_tie(hosts[rivals[0]]) else None
        return None

    def stale_in_a_tie(self, rival):
        """Two masters with equal backing: the one whose node Pacemaker fenced last is the
        old one (a master is replaced only once fenced). True if that is this host. A
        node just back from its fence may not have its fencer's history yet: ask again
        for a while; still no fence of either (history lost with a cluster restart) is
        "cannot tell"."""
        rival_node = self.node_of_host(rival)
        fences = []

        def told():
            fences[:] = [
                pacemaker.fenced_since(self.node(), 0),
                pacemaker.fenced_since(rival_node, 0),
            ]
            return fences[0] != fences[1]

        ends = min(10.0, self.res.timeout / 3, self.res.budget.fraction(0.9).left())
        if not Deadline(ends).poll(told, 1.0):
            raise ocf.generic(
                "host %s and this host both claim to be the pool master, as many hosts "
                "side with each, and no fencing history tells which is the old one; run "
                "xe pool-emergency-reset-master master-address=<the real master> on the "
                "other" % self.describe(rival)
            )
        mine, theirs = fences
        if mine is None or theirs is None:
            return mine is not None
        # Ordered only if they are in every reading of a zoneless time (Pacemaker 1.1's
        # text history: a clock change's repeated hour), else "cannot tell".
        mine_latest = pacemaker.fenced_since(self.node(), 0, latest=True)
        theirs_latest = pacemaker.fenced_since(rival_node, 0, latest=True)
        if mine > theirs_latest:
            return True
        if mine_latest < theirs:
            return False
        raise ocf.generic(
            "host %s and this host both claim to be the pool master, and their fences "
            "(%s, %s) cannot be told apart in the fencing history's local times; run "
            "xe pool-emergency-reset-master master-address=<the real master> on the other"
            % (self.describe(rival), mine, theirs)
        )

    def leaders(self, addresses):
        """What the xapi at each of ``addresses`` says of its master, all asked at once,
        once, PROBE_TIMEOUT each: ``{address: the master's address it follows, None (it
        is a master), or the XenhaError it answered with}``. A login, which a slave
        refuses with HOST_IS_SLAVE(master) without asking its master."""
        import concurrent.futures

        probe = Pool(self.res, PROBE_TIMEOUT, until=0.0).local_view()  # no retry

        def ask(address):
            try:
                return probe.client.follows(address)
            except XenhaError as e:
                return e

        try:
            with concurrent.futures.ThreadPoolExecutor(max(1, len(addresses))) as pool_:
                return dict(zip(addresses, pool_.map(ask, addresses)))
        finally:
            probe.close()

    def require_fenced(self, host, since, what):
        """:func:`require_fenced` for the node of host ref ``host``; returns the node."""
        node = self.node_of_host(host)
        require_fenced(self.res, node, since, what)
        return node


def require_fenced(res, node, since, what):
    """Raise unless Pacemaker fenced ``node`` at least ``pacemaker.CLOCK_MARGIN`` seconds
    after ``since`` (epoch, the clock of the machine that wrote it; None: unknown).
    ``what`` is the situation, for the exit reason."""
    if since is None:
        raise ocf.generic(
            "%s, and there is no telling since when, so no fence of node %s can be "
            "trusted; refusing" % (what, node)
        )
    when = pacemaker.fenced_since(node, since)
    if when is None:
        raise ocf.generic(
            "%s, and Pacemaker's fencing history shows no successful fence of node %s "
            "since %s (+%ds for clock differences); refusing until it is fenced (or "
            "confirmed off with stonith_admin --confirm %s)"
            % (what, node, _utc(since), pacemaker.CLOCK_MARGIN, node)
        )
    res.log.info("node %s was fenced at %s", node, _utc(when))


def _utc(epoch):
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))


def is_xapi_failure(e):
    """Whether ``e`` came from XAPI (no answer, or an answer with an error code) rather
    than from what the agent was asked (an unknown or ambiguous name)."""
    from xenha.xapi import XapiError, XapiUnreachable

    return isinstance(e, (XapiUnreachable, XapiError))


class LocalSetupError(XenhaError):
    """A condition of this node only (it maps to no pool host): the resource may still
    run on the other nodes."""


# The actions where a condition of this node's setup may end the action as a setup error:
# OCF_ERR_CONFIGURED (Pacemaker then runs the resource nowhere) for the configuration,
# OCF_ERR_INSTALLED (not on this node) for what this node lacks. Anywhere else - monitor,
# probe, stop, migration, promotion - the same conditions arise from local, passing
# causes (a password file's mode reset to 0644, a host renamed in XenCenter, a VM name
# another VM took): OCF_ERR_GENERIC with the reason, so that Pacemaker recovers the
# resource (a failed stop: it fences the node) rather than banning it on every node, and a
# probe never answers OCF_ERR_INSTALLED, which Pacemaker >= 2.1.3 reads as "not running".
SETUP_ACTIONS = ("start", "validate-all")


def setup_error(res, reason, rc=ocf.ERR_CONFIGURED):
    """An OcfError for a setup condition: ``rc`` in start and validate-all, else
    OCF_ERR_GENERIC (for ``raise``)."""
    return ocf.OcfError(rc if res.action in SETUP_ACTIONS else ocf.ERR_GENERIC, reason)


def password_file_problem(path):
    """Why this node's XAPI password file ``path`` cannot be used, or None."""
    from xenha import secrets

    if not os.path.exists(path):
        return "XAPI password file %s is missing on this node" % path
    try:
        secrets.read_file(path, "XAPI password file")
    except XenhaError as e:
        return "%s (on this node)" % e
    return None


@contextlib.contextmanager
def pool(res, budget, until=PATIENCE):
    """A :class:`Pool` for one action, each XAPI call bounded by ``budget`` (QUICK, STEPS
    or WORK: :func:`call_timeout`), xapi restarting retried until ``until``; XAPI and
    Pacemaker failures become OCF errors with a reason - "cannot tell" is
    OCF_ERR_GENERIC, never OCF_NOT_RUNNING; setup conditions (an unusable password
    file, a host or VM that cannot be found) are setup errors (:func:`setup_error`)."""
    from xenha.xapi import XapiError, XapiUnreachable

    secret = res.params.xapi_password_file
    problem = password_file_problem(secret) if secret else None
    if problem:
        raise setup_error(res, problem, ocf.ERR_INSTALLED)
    p = None
    try:
        p = Pool(res, call_timeout(res, budget), until)
        yield p
    except XapiUnreachable as e:
        raise ocf.generic("cannot reach XAPI: %s" % e) from None
    except XapiError as e:
        raise ocf.generic(str(e)) from None
    except pacemaker.PacemakerError as e:
        raise ocf.generic(str(e)) from None
    except LocalSetupError as e:
        # start: this node only; validate-all: the configuration does not fit the pool
        raise setup_error(
            res, str(e), ocf.ERR_INSTALLED if res.action == "start" else ocf.ERR_CONFIGURED
        ) from None
    except XenhaError as e:
        raise setup_error(res, str(e)) from None
    finally:
        if p is not None:
            p.close()
