"""HTTPS verification (CA file, pinned fingerprint, explicit insecure) and the local
unix socket, against the simulator's endpoints."""

import contextlib
import threading
from urllib.parse import urlsplit
from xmlrpc.server import SimpleXMLRPCServer

import pytest
import XenAPI

from xenha.errors import XenhaError
from xenha.lab.pool.testing import running_pool
from xenha.lab.pool.tls import make_certificate, server_context
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


def test_ca_file_verifies_and_master_following_keeps_https(sim):
    with client(sim, sim.slaves[0].https_url, ca_file=sim.ca_file) as c:
        assert master_uuid(c) == sim.master.uuid
        assert c._url == sim.master.https_url


def test_pinned_fingerprint(sim):
    with client(sim, sim.master.https_url, fingerprint=sim.fingerprint) as c:
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


@contextlib.contextmanager
def slave_with_its_own_certificate(sim, tmp_path):
    """A pool slave as on XCP-ng 8.2+: its own certificate, answering logins with
    HOST_IS_SLAVE(master), on the simulated hosts' HTTPS port at another address."""
    address, port = "127.0.0.99", urlsplit(sim.master.https_url).port
    cert, key, fingerprint = make_certificate(str(tmp_path), [address])
    server = SimpleXMLRPCServer((address, port), logRequests=False, allow_none=True)
    server.register_function(
        lambda *a: {"Status": "Failure", "ErrorDescription": ["HOST_IS_SLAVE", sim.master.address]},
        "session.login_with_password",
    )
    server.socket = server_context(cert, key).wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "https://%s:%d/" % (address, port), fingerprint
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_per_host_certificates_are_pinned_by_listing_every_hosts_fingerprint(sim, tmp_path):
    with slave_with_its_own_certificate(sim, tmp_path) as (url, slave_fingerprint):
        both = "%s; %s" % (slave_fingerprint, sim.fingerprint)
        with client(sim, url, fingerprint=both) as c:
            assert master_uuid(c) == sim.master.uuid
            assert c._url == sim.master.https_url
        refused = "SHA-256 %s\\) matches no pinned" % sim.fingerprint
        with pytest.raises(XapiUnreachable, match=refused), client(
            sim, url, fingerprint=slave_fingerprint
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
