"""A takeover counts a fence only CLOCK_MARGIN seconds after the time it must follow.

The fence's completion is the fencer's clock; the VM's start time (VM_metrics.start_time)
is the clock of the host that started it. Both are whole seconds: a fence recorded one
second after the start may have come before it, and the VM would then still run on the
lost host while xen-vm starts it here. Pool: host1 (master), host2, host3; "web" runs
on host3.
"""

import time
import xmlrpc.client

from xenha import ocf
from xenha.xapi import Client, Settings

WEB = "6a1c58a2-0d4e-4c61-9d8e-3c2f1e0b7a11"
STATE = {
    "hosts": [{"name": "host1"}, {"name": "host2"}, {"name": "host3"}],
    "vms": [{"name": "web", "uuid": WEB, "host": "host3"}],
}
POOL = {"state": STATE}  # the sim fixture's pool


def start_web(pcmk, node):
    return pcmk.run("xen-vm", "start", node, instance="vm-web", params={"vm": WEB})


def set_start_time(sim, epoch):
    """VM_metrics.start_time of web, as host3's clock wrote it."""
    st = Settings(url=sim.master.url, password_file=sim.password_file)
    with Client(st, cache_dir=None) as c:
        api = c.xenapi
        metrics = api.VM_metrics.get_uuid(api.VM.get_metrics(api.VM.get_by_uuid(WEB)))
    stamp = time.strftime("%Y%m%dT%H:%M:%SZ", time.gmtime(epoch))
    sim.set_field("VM_metrics", metrics, "start_time", xmlrpc.client.DateTime(stamp))


def test_a_fence_within_the_clock_margin_of_the_vms_start_does_not_count(pcmk, sim):
    started = int(time.time()) + 30  # later than every other time the pool recorded
    set_start_time(sim, started)
    sim.power_off("host3")
    pcmk.fence("host3", when=started + 1)
    r = start_web(pcmk, "host2")
    assert r.rc == ocf.ERR_GENERIC, r
    assert "no successful fence of node host3 since" in r.reason
    assert "(+2s for clock differences)" in r.reason
    assert sim.record("VM", WEB)["power_state"] == "Running"  # left alone
    pcmk.fence("host3", when=started + 2)  # pacemaker.CLOCK_MARGIN
    r = start_web(pcmk, "host2")
    assert r.rc == ocf.SUCCESS, r
    assert "declaring fenced host host3" in r.stderr
