"""HTTPS verification (CA file, pinned fingerprint, explicit insecure) and the local
unix socket, against the simulator's endpoints."""

import hashlib
import ssl

import pytest
import XenAPI

from xenha.errors import XenhaError
from xenha.lab.pool.testing import running_pool
from xenha.xapi import Client, Settings, XapiUnreachable


@pytest.fixture(scope="module")
def sim():
    with running_pool(hosts=2, vms=2, https=True, sockets=True) as s:
        yield s


def client(sim, url, **kw):
    return Client(
        Settings(url=url, password_file=sim.password_file, timeout=3, **kw), cache_dir=None
    )


def master_uuid(c):
    return c.xenapi.host.get_uuid(c.master())


def login_sdk(sim):
    s = XenAPI.Session(sim.master.https_url, ignore_ssl=True)
    s.xenapi.login_with_password(sim.user, sim.password(), "1.0", "sdk-test")
    return s.xenapi


def fingerprint(pem):
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def test_ca_file_verifies_and_master_following_keeps_https(sim):
    with client(sim, sim.slaves[0].https_url, ca_file=sim.ca_file) as c:
        assert master_uuid(c) == sim.master.uuid
        assert c._url == sim.master.https_url


def test_pinned_fingerprint(sim):
    with client(sim, sim.master.https_url, fingerprint=sim.master.fingerprint) as c:
        assert master_uuid(c) == sim.master.uuid
    wrong = "00" * 32
    with pytest.raises(XapiUnreachable, match="fingerprint"), client(
        sim, sim.master.https_url, fingerprint=wrong
    ) as c:
        c.master()


def test_unverified_certificate_is_refused_unless_insecure(sim, capsys):
    with pytest.raises(XapiUnreachable, match="CERTIFICATE_VERIFY_FAILED"), client(
        sim, sim.master.https_url
    ) as c:
        c.master()
    capsys.readouterr()
    with client(sim, sim.master.https_url, insecure=True) as c:
        assert master_uuid(c) == sim.master.uuid
    # No agent installed a Log in this process: the warning goes to stderr.
    assert "xenha: warning: TLS certificate verification of XAPI is disabled" in (
        capsys.readouterr().err
    )


def test_official_sdk_over_https(sim):
    s = XenAPI.Session(sim.master.https_url, ignore_ssl=True)
    s.xenapi.login_with_password(sim.user, sim.password(), "1.0", "sdk-test")
    assert len(s.xenapi.host.get_all()) == 2
    s.xenapi.session.logout()


def test_local_socket(sim):
    settings = Settings(url=None, socket_path=sim.master.socket, password_file=sim.password_file)
    with Client(settings, cache_dir=None) as c:
        assert c.xenapi.host.get_uuid(c.this_host()) == sim.master.uuid
    settings = Settings(url=None, socket_path=sim.slaves[0].socket, password_file=sim.password_file)
    with Client(settings, cache_dir=None).emergency() as local:
        assert local.xenapi.host.get_uuid(local.this_host()) == sim.slaves[0].uuid


def test_each_host_has_its_own_certificate_and_the_bundle_trusts_them_all(sim):
    fingerprints = {h.fingerprint for h in sim.hosts}
    assert len(fingerprints) == len(sim.hosts)
    api = login_sdk(sim)
    records = api.Certificate.get_all_records().values()
    assert {(r["host"], r["fingerprint_sha256"], r["type"]) for r in records} == {
        (api.host.get_by_uuid(h.uuid), h.fingerprint, "host") for h in sim.hosts
    }
    for h in sim.hosts:
        pem = api.host.get_server_certificate(api.host.get_by_uuid(h.uuid))
        assert fingerprint(pem) == h.fingerprint
        with client(sim, h.https_url, ca_file=sim.ca_file) as c:  # CA file: the bundle
            assert master_uuid(c) == sim.master.uuid


def test_pins_of_every_host_follow_host_is_slave_and_one_missing_is_refused(sim):
    slave = sim.slaves[0]
    pins = ";".join(h.fingerprint for h in sim.hosts)
    with client(sim, slave.https_url, fingerprint=pins) as c:
        assert master_uuid(c) == sim.master.uuid
        assert c._url == sim.master.https_url
    refused = "certificate of %s \\(SHA-256 %s\\) matches no pinned" % (
        sim.master.address,
        sim.master.fingerprint,
    )
    with pytest.raises(XapiUnreachable, match=refused), client(
        sim, slave.https_url, fingerprint=slave.fingerprint
    ) as c:
        c.master()


def test_fingerprint_lists_are_checked():
    one = "ab" * 32
    st = Settings(url="https://h/", fingerprint=" %s ,%s;" % (one, "AB:" * 31 + "CD"))
    assert st.fingerprints == (one, "ab" * 31 + "cd")
    with pytest.raises(XenhaError, match="not a SHA-256"):
        Settings(url="https://h/", fingerprint=one + ";nothex")
    with pytest.raises(XenhaError, match="lists no fingerprint"):
        Settings(url="https://h/", fingerprint=" ; ")
