"""The hypervisor truth: which domains really run on which host, whatever any database says.

Every moment a VM runs on two hosts at once is recorded: the invariant every test checks.
"""

import time


class Truth:
    def __init__(self):
        self.domains = {}  # host uuid -> {vm uuid: domid}
        self.double_runs = []  # {"vm", "hosts", "time"}
        self._next_domid = 1

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

    def migrate(self, src, dst, vm):
        """Live migration: the domain moves; the paused source is gone once the copy runs."""
        self.stop(src, vm)
        return self.start(dst, vm)

    def power_cut(self, host):
        """The host loses power: all its domains are gone."""
        self.domains[host] = {}

    def snapshot(self):
        return {
            "domains": {h: sorted(d) for h, d in self.domains.items()},
            "double_runs": list(self.double_runs),
        }
