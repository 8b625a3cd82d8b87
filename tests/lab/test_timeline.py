"""Pacemaker's own alerts give the lab its timeline."""

import time

from xenha.lab import recorder
from xenha.lab.proc import poll
from xenha.lab.scenarios.evidence import events, first


def wait_event(since, timeout=30.0, **match):
    t = poll(lambda: first(events(), since, **match), timeout, interval=0.2)
    assert t, "no %s event within %ss: %s" % (match, timeout, events())
    return t


def test_alerts_record_node_loss_and_recovery(lab3):
    h1 = lab3.hosts[0]
    h1.load_crm(recorder.install() + "primitive d1 ocf:pacemaker:Dummy op monitor interval=2s\n")
    started = wait_event(0, kind="resource", rsc="d1", task="start", rc="0")
    where = next(e.node for e in events() if e.t == started)
    survivor = next(h for h in lab3.hosts if h.name != where)

    cut = time.time()
    lab3.host(where).power_cut()
    lost = wait_event(cut, kind="node", node=where, desc="lost")
    again = wait_event(lost, kind="resource", rsc="d1", task="start", rc="0")
    moved_to = next(e.node for e in events() if e.t == again)
    assert moved_to != where
    assert cut < lost < again
    assert "d1" in survivor.exec(["crm_resource", "--locate", "--resource", "d1"])
