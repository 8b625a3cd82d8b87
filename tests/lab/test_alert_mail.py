"""alert-email end to end: a three-host lab configured by the generator with an `alerts`
section pointing at a real SMTP server (aiosmtpd) on the lab bridge. Every host runs the
agent for every event; the inbox must hold exactly one mail per event."""

import collections
import contextlib
import subprocess
import time

from tests.lab.test_failover import (
    assert_invariants,
    configured_lab,
    fencing_events,
    on_survivors,
    resource_events,
    vms_on,
    wait_for,
)
from tests.smtp_sink import smtp_server
from xenha.lab import network
from xenha.lab.pool import service
from xenha.lab.power import bmcs
from xenha.lab.proc import poll
from xenha.lab.scenarios.evidence import vms_where

SINK = network.GATEWAY  # the lab bridge's own address: every host reaches it
RECIPIENT = "ops@example.com"
QUIET = 30  # seconds without a new mail before the inbox counts as complete
MAILS_WITHIN = 150  # seconds for the expected mails after a power cut


@contextlib.contextmanager
def mailed_lab(**kw):
    """A configured lab whose alerts go to an SMTP server on the bridge; yields the lab and
    the server's inbox, emptied of the mails the configuration itself caused."""
    with contextlib.ExitStack() as stack:
        inbox = []

        def alerts(desc):  # the bridge exists once the lab is up: start the server then
            inbox.append(stack.enter_context(smtp_server(host=SINK)))
            smtp = {"server": SINK, "port": inbox[0].port}
            desc["alerts"] = {"recipients": [RECIPIENT], "smtp": smtp, "suppress_minutes": 60}

        lab = stack.enter_context(configured_lab(edit=alerts, **kw))
        quiet(inbox[0])
        inbox[0].mails.clear()
        yield lab, inbox[0]


def quiet(inbox, seconds=QUIET):
    """Wait until no mail has arrived for ``seconds``."""
    count, since = -1, time.monotonic()
    while time.monotonic() - since < seconds:
        if len(inbox.mails) != count:
            count, since = len(inbox.mails), time.monotonic()
        time.sleep(0.5)


def assert_mailed(inbox, expected, what):
    """The inbox gets ``expected`` (subjects after ``[xenha] ``), then nothing else."""
    want = collections.Counter("[xenha] " + s for s in expected)

    def arrived():
        got = collections.Counter(inbox.subjects())
        return all(got[s] >= n for s, n in want.items())

    assert poll(arrived, MAILS_WITHIN, interval=0.5), (what, expected, inbox.subjects())
    quiet(inbox)
    assert collections.Counter(inbox.subjects()) == want, (what, inbox.subjects())


def power_cut_mails(lab, victim):
    """Cut ``victim``'s power; the subjects its loss must be mailed under: lost, fenced, one
    per VM restarted elsewhere."""
    lost = vms_on(victim.name)
    assert lost
    lab.crash(victim)
    wait_for(lambda: on_survivors(lost, victim.name), 90, "%s's VMs on survivors" % victim.name)
    placed = {vm: hosts[0] for vm, hosts in vms_where().items() if vm in lost}
    return [
        "host %s lost: it left the cluster" % victim.name,
        "host %s fenced (reboot)" % victim.name,
    ] + ["VM vm-%s started on %s" % (vm, host) for vm, host in sorted(placed.items())]


def test_slave_power_cut_mails_each_event_once_and_a_repeat_nothing():
    with mailed_lab() as (lab, inbox):
        victim = lab.host("host2")  # a slave: host1 is the pool master
        dc = lab.members()[1]
        expected = power_cut_mails(lab, victim)
        assert_mailed(inbox, expected, "host2's power cut (DC %s)" % dc)
        # The same loss again within the window: suppressed wherever it is raised.
        lab.settle(180)  # host2 rebooted and rejoined; it runs no VM any more
        assert vms_on(victim.name) == []
        inbox.mails.clear()
        t = time.time()
        lab.crash(victim)
        wait_for(lambda: any(e.rc == "0" for e in fencing_events(t)), 120, "host2 fenced again")
        lab.settle(180)
        quiet(inbox)
        assert inbox.subjects() == [], "a repeat within the window was mailed (DC %s)" % dc
        assert_invariants()


def test_master_power_cut_mails_each_event_once_and_the_new_master():
    with mailed_lab() as (lab, inbox):
        master = lab.host("host1")
        sim = service.control()
        assert sim.host_state(master.name)["role"] == "master"
        dc = lab.members()[1]
        expected = power_cut_mails(lab, master)
        new = wait_for(
            lambda: next(
                (h.name for h in lab.hosts[1:] if sim.host_state(h.name)["role"] == "master"),
                None,
            ),
            60,
            "a new pool master",
        )
        expected.append("host %s is now the pool master" % new)
        assert_mailed(inbox, expected, "the master's power cut (DC %s)" % dc)
        assert_invariants()


def test_fence_failure_is_mailed_once():
    """Its fence device's monitor fails too (the same BMC), then its recovery's starts:
    each is one mail of its own."""
    with mailed_lab() as (lab, inbox):
        victim = lab.host("host2")
        bmc = bmcs.address(victim) + "/24"
        subprocess.run(["ip", "addr", "del", bmc, "dev", network.BRIDGE], check=True)
        t = time.time()
        lab.crash(victim)
        device = "fence-host2-ilo"

        # Pacemaker retries the fence: wait until a host has seen it fail twice, so a
        # repeat's alert has come too, and for the device's monitor (every 60 s) to fail.
        # Pacemaker then recovers the device, and its start fails too (the BMC is still
        # gone) on each survivor in turn, each a mail of its own: wait until it has
        # given up (failed starts on both survivors).
        survivors = {"host1", "host3"}
        verbs = {"monitor": "monitor failed", "start": "failed to start"}

        def device_failures():  # a cancelled monitor is no failure (nor mailed)
            found = resource_events(t, device)
            return [
                e
                for e in found
                if e.task in verbs and e.rc != e.target_rc and e.desc != "Cancelled"
            ]

        def given_up():
            seen = collections.Counter(e.seen_by for e in fencing_events(t) if e.rc != "0")
            failed = device_failures()
            started = {e.node for e in failed if e.task == "start"}
            monitor = any(e.task == "monitor" for e in failed)
            return max(seen.values(), default=0) >= 2 and monitor and started == survivors

        wait_for(given_up, 2 * MAILS_WITHIN, "two failed fences, the device given up")
        failures = sorted(
            {
                "resource %s %s on %s: %s" % (device, verbs[e.task], e.node, e.desc)
                for e in device_failures()
            }
        )
        assert_mailed(
            inbox,
            ["host host2 lost: it left the cluster", "FENCING of host host2 FAILED (reboot)"]
            + failures,
            "host2's loss with its BMC unreachable",
        )
