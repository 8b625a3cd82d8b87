"""Per-host certificates across a pool's changes (XCP-ng 8.2+ / XenServer 8: each host
its own): the client's pins after the master moves, and after a host's certificate is
reset (``xe host-reset-server-certificate``)."""

import pytest

from tests.unit.test_lab_pool import QUICK
from tests.unit.test_lab_pool_tasks import until
from tests.unit.test_xapi_tls import client, master_uuid
from xenha.deadline import Deadline
from xenha.lab.pool.testing import running_pool
from xenha.xapi import XapiUnreachable


@pytest.fixture
def sim():
    with running_pool(hosts=3, vms=1, https=True, knobs=QUICK) as s:
        yield s


def refusal(host, fingerprint):
    """The pin's error, naming the host and the certificate it presented."""
    return "certificate of %s \\(SHA-256 %s\\) matches no pinned" % (host.address, fingerprint)


def test_after_the_master_moves_the_client_reaches_it_with_its_pinned_certificate(sim):
    old, new, third = sim.master, sim.slaves[0], sim.slaves[1]
    pins = ";".join(h.fingerprint for h in sim.hosts)
    with client(sim, third.https_url, fingerprint=pins) as c:
        assert master_uuid(c) == old.uuid and c._url == old.https_url
        c.xenapi.pool.designate_new_master(c.xenapi.host.get_by_uuid(new.uuid))
        until(lambda: [m["name"] for m in sim.masters() if m["end"] is None] == [new.name])
        # the same client, given time for the restarts: it re-logs in at its URL, meets
        # HOST_IS_SLAVE naming the new master and checks that host's certificate
        c.patience = Deadline(30)
        assert master_uuid(c) == new.uuid and c._url == new.https_url
    # pins that leave the new master out: refused there, with its name and fingerprint
    with pytest.raises(XapiUnreachable, match=refusal(new, new.fingerprint)), client(
        sim, third.https_url, fingerprint="%s;%s" % (old.fingerprint, third.fingerprint)
    ) as c:
        c.master()


def test_a_reset_certificate_is_refused_until_its_new_fingerprint_is_pinned(sim):
    master, slave = sim.master, sim.slaves[0]
    pins = ";".join(h.fingerprint for h in sim.hosts)
    with client(sim, master.https_url, fingerprint=pins) as c:
        ref = c.xenapi.host.get_by_uuid(slave.uuid)
        c.xenapi.host.reset_server_certificate(ref)
        (cert,) = c.xenapi.host.get_certificates(ref)
        renewed = c.xenapi.Certificate.get_fingerprint_sha256(cert)
    assert renewed != slave.fingerprint
    with pytest.raises(XapiUnreachable, match=refusal(slave, renewed)), client(
        sim, slave.https_url, fingerprint=pins
    ) as c:
        c.this_host()
    # the bundle taken before is stale too; the new pin is what the operator adds
    with pytest.raises(XapiUnreachable, match="CERTIFICATE_VERIFY_FAILED"), client(
        sim, slave.https_url, ca_file=sim.ca_file
    ) as c:
        c.this_host()
    with client(sim, slave.https_url, fingerprint=pins + ";" + renewed) as c:
        assert c.xenapi.host.get_uuid(c.this_host()) == slave.uuid
