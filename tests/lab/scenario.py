"""What the lab's end-to-end tests share: a configured lab, waiting, the evidence."""

import contextlib
import sys

from xenha.lab.cluster import Lab
from xenha.lab.pool import service
from xenha.lab.proc import poll
from xenha.lab.scenarios import evidence
from xenha.lab.scenarios.evidence import vms_where as where

# XAPI calls that start or stop a VM.
RESTARTS = {"start", "start_on", "resume_on", "clean_shutdown", "hard_shutdown", "hard_reboot"}


@contextlib.contextmanager
def configured_lab(hosts=3, quorum=None, vms=4, edit=None, fencing="ipmi", before=None, stack=None):
    """A lab with its generated configuration loaded and settled (``before(lab)`` run
    first, the pool up; ``stack``: its hosts on that xenha.lab.stacks root); always taken
    down."""
    lab = Lab(hosts, quorum, fencing, stack=stack)
    lab.up(vms=vms, progress=lambda m: None)
    try:
        desc = lab.description()
        if edit:
            edit(desc)
        if before:
            before(lab)
        lab.configure(desc, progress=lambda m: None)
        yield lab
        assert evidence.violations() == {"double runs": [], "two masters": []}
    except BaseException:
        print(evidence.story())  # shown with the failure: the lab's logs go with it
        raise
    finally:
        lab.down()


def wait_for(predicate, timeout, what):
    """``predicate``'s first true value within ``timeout`` seconds; else a failure saying
    ``what`` was awaited and where the VMs run."""
    value = poll(predicate, timeout, interval=0.1)
    assert value, "not within %ss: %s; VMs: %s" % (timeout, what, where())
    return value


def crm(lab, *argv, via=None, **kw):
    host = via or lab.hosts[0]
    return host.exec(list(argv), timeout=120, **kw)


def assert_invariants(lost=()):
    """No double run ever, never two powered masters accepting writes; every VM on exactly
    one host, none on a host that lost power."""
    assert evidence.violations() == {"double runs": [], "two masters": []}
    for vm, hosts in where().items():
        assert len(hosts) == 1, (vm, hosts)
        assert hosts[0] not in lost, (vm, hosts)


def vms_on(host_name):
    return sorted(vm for vm, hosts in where().items() if host_name in hosts)


def tasks(since, rsc):
    return {e.task for e in resource_events(since, rsc)}


def resource_events(since, rsc):
    return evidence.select(evidence.events(), since, kind="resource", rsc=rsc)


def fencing_events(since):
    return evidence.select(evidence.events(), since, kind="fencing")


def xapi(lab, code):
    """Run ``code`` as an operator's XAPI client on the first host would (XenCenter, xe):
    ``x`` is the session's API, ``vm(uuid)`` and ``host(name)`` give refs."""
    script = (
        "import json; from xenha.xapi import Settings, Client;"
        "i=json.load(open(%r));"
        "c=Client(Settings(password_file=i['password_file'], ca_file=i['ca_file'], timeout=30),"
        "cache_dir=None); x=c.xenapi; vm=x.VM.get_by_uuid;"
        "host=lambda name: x.host.get_by_name_label(name)[0];"
    ) % str(service.INFO)
    return lab.hosts[0].exec([sys.executable, "-c", script + code], timeout=120)


def restarts(sim):
    return {m: n for m, n in sim.xapi_calls().items() if m.split(".")[-1] in RESTARTS and n}


def add_meatware(desc):
    for node in desc["cluster"]["nodes"]:
        node["fencing"].append({"device": "meatware"})
