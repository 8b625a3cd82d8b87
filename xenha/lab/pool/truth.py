"""The hypervisor truth: which domains really run on which host, whatever any database says.

Every moment a VM runs on two hosts at once is recorded: the invariant every test checks.
So is every master tenure (a powered host whose xapi acts as master), and every write a
master accepted while another powered master existed: the pool's other invariant.
"""

import time


class Truth:
    def __init__(self):
        self.domains = {}  # host uuid -> {vm uuid: domid}
        self.double_runs = []  # {"vm", "hosts", "time"}
        self.paused = set()  # (host uuid, vm uuid) of domains the hypervisor has paused
        self._next_domid = 1
        self.masters = []  # {"host", "name", "start", "end"}: each master tenure
        self.masters_violations = []  # {"host", "name", "others", "method", "time"}
        self.xapi_shutdowns = []  # {"vm", "host", "why", "time"}: domains xapi shut down

    def add_host(self, host):
        self.domains.setdefault(host, {})

    def hosts_running(self, vm):
        return sorted(h for h, doms in self.domains.items() if vm in doms)

    def start(self, host, vm):
        """Create a domain for ``vm`` on ``host``; return its domid."""
        domid = self._next_domid
        self._next_domid += 1
        self.domains[host][vm] = domid
        hosts = self.hosts_running(vm)
        if len(hosts) > 1:
            self.double_runs.append({"vm": vm, "hosts": hosts, "time": time.time()})
        return domid

    def stop(self, host, vm):
        self.domains[host].pop(vm, None)
        self.paused.discard((host, vm))

    def pause(self, host, vm, paused=True):
        """The hypervisor pauses (or unpauses) the domain of ``vm`` on ``host``."""
        if vm in self.domains.get(host, {}):
            (self.paused.add if paused else self.paused.discard)((host, vm))

    def migrate(self, src, dst, vm):
        """Live migration: the domain moves; the paused source is gone once the copy runs."""
        self.stop(src, vm)
        return self.start(dst, vm)

    def power_cut(self, host):
        """The host loses power: all its domains are gone."""
        self.domains[host] = {}
        self.paused = {(h, vm) for h, vm in self.paused if h != host}

    def listing(self, host):
        """The domains of ``host`` as its hypervisor lists them, by domid: {"domid",
        "uuid", "state"}, the state as list_domains' six letters (D S P B R H, a space
        where unset): a running guest is blocked or running, a paused one paused; all
        are HVM here. A model of a migration in flight would list its two domains here
        under their temporary ids (xenops_server.ml tmp_uuid_of)."""
        doms = sorted(self.domains.get(host, {}).items(), key=lambda item: item[1])
        return [
            {
                "domid": domid,
                "uuid": vm,
                "state": "  P  H" if (host, vm) in self.paused else "   B H",
            }
            for vm, domid in doms
        ]

    def snapshot(self):
        return {
            "domains": {h: sorted(d) for h, d in self.domains.items()},
            "double_runs": list(self.double_runs),
        }

    def xapi_shutdown(self, host, vm, why):
        """A host's xapi shuts a domain down by itself (resync_resident_on)."""
        if vm in self.domains.get(host, {}):
            self.stop(host, vm)
            self.xapi_shutdowns.append({"vm": vm, "host": host, "why": why, "time": time.time()})

    def track_masters(self, acting):
        """``acting``: (uuid, name) of every host acting as master now; open and close
        tenures to match."""
        now = time.time()
        current = {uuid for uuid, _ in acting}
        for t in self.masters:
            if t["end"] is None and t["host"] not in current:
                t["end"] = now
        open_ = {t["host"] for t in self.masters if t["end"] is None}
        for uuid, name in acting:
            if uuid not in open_:
                self.masters.append({"host": uuid, "name": name, "start": now, "end": None})

    def master_violation(self, master, others, method):
        """Master ``master`` (uuid, name) accepted the write ``method`` while the hosts
        ``others`` were powered masters too."""
        self.masters_violations.append(
            {
                "host": master[0],
                "name": master[1],
                "others": [name for _, name in others],
                "method": method,
                "time": time.time(),
            }
        )
