"""`xenha alert test`: the alert's settings read from the CIB (Pacemaker's own cibadmin on a
file CIB, CIB_file), one test mail per recipient built and sent as the alert agent sends
one, to aiosmtpd on 127.0.0.1; the SMTP conversation with the login masked; clear errors."""

import base64
import grp
import os
import shutil
import socket
import tempfile

import pytest

from tests.smtp_sink import SECRET, free_port, smtp_server
from xenha.alerts import mail, settings
from xenha.crm.agents import ALERT_AGENT
from xenha.lab.power import testing

needs_cibadmin = pytest.mark.skipif(
    shutil.which("cibadmin") is None, reason="Pacemaker's cibadmin is not installed"
)
HOST = socket.gethostname()


def cib_xml(attrs, recipients, path=ALERT_AGENT):
    """A CIB whose one alert runs ``path`` with ``attrs`` (None: no alert); ``recipients``:
    ``[(address, {its own attributes})]``."""

    def nvset(owner, values):
        pairs = "".join(
            '<nvpair id="%s-%s" name="%s" value="%s"/>' % (owner, k, k, v)
            for k, v in values.items()
        )
        return '<instance_attributes id="%s-ia">%s</instance_attributes>' % (owner, pairs)

    rcpts = "".join(
        '<recipient id="email-to-%d" value="%s">%s</recipient>'
        % (i, value, nvset("email-to-%d" % i, own) if own else "")
        for i, (value, own) in enumerate(recipients, 1)
    )
    alert = ""
    if attrs is not None:
        alert = '<alerts><alert id="email" path="%s">%s%s</alert></alerts>' % (
            path,
            nvset("email", attrs),
            rcpts,
        )
    return (
        '<cib validate-with="pacemaker-3.0" admin_epoch="0" epoch="1" num_updates="0">'
        "<configuration><crm_config/><nodes/><resources/><constraints/>%s</configuration>"
        "<status/></cib>\n" % alert
    )


@pytest.fixture
def shared():
    """A directory hacluster can read (tmp_path's parents are root's only)."""
    d = tempfile.mkdtemp(prefix="xenha-alert-test-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


@pytest.fixture
def cib(shared, xenha):
    """``run(attrs, recipients, *args)``: `xenha alert test ARGS` against a file CIB."""

    def run(attrs, recipients, *args, **kw):
        path = os.path.join(shared, "cib.xml")
        with open(path, "w") as f:
            f.write(cib_xml(attrs, recipients, **kw))
        r = xenha("alert", "test", *args, env=dict(os.environ, CIB_file=path))
        assert "Traceback" not in r.stderr, r.stderr
        return r

    return run


@pytest.fixture
def smtp():
    with smtp_server(refuse=["nobody@example.com"]) as inbox:
        yield inbox


def plain(smtp):
    return {"smtp_server": "127.0.0.1", "smtp_port": smtp.port, "mail_from": "ha@example.com"}


@needs_cibadmin
def test_each_recipient_gets_a_test_mail_with_the_alerts_settings(cib, smtp):
    own = {"mail_from": "oncall-ha@example.com"}  # a recipient's own attribute wins
    r = cib(plain(smtp), [("ops@example.com", {}), ("oncall@example.com", own)])
    assert r.returncode == 0, r.stderr
    assert "speaker rule and duplicate suppression are bypassed" in r.stdout
    assert "sent to ops@example.com via 127.0.0.1:%d in " % smtp.port in r.stdout
    assert "how:     no TLS, as hacluster, from ha@example.com" in r.stdout
    assert "server:  250 OK" in r.stdout
    (to1, m1), (to2, m2) = smtp.mails
    assert (to1, m1["From"], to2, m2["From"]) == (
        ["ops@example.com"],
        "ha@example.com",
        ["oncall@example.com"],
        "oncall-ha@example.com",
    )
    assert m1["Subject"] == "[xenha] test mail from %s: alerts reach ops@example.com" % HOST
    body = m1.get_payload()
    assert "event:       test" in body and "reported by: %s" % HOST in body
    assert "bypassed both" in body


@needs_cibadmin
def test_to_sends_one_mail_to_that_address_only(cib, smtp):
    r = cib(plain(smtp), [("ops@example.com", {})], "--to", "me@example.com", "--json")
    assert r.returncode == 0, r.stderr
    [(rcpt, msg)] = smtp.mails
    assert rcpt == ["me@example.com"] and msg["To"] == "me@example.com"
    import json

    [report] = json.loads(r.stdout)["mails"]
    assert report["sent"] and report["server"] == "127.0.0.1" and report["port"] == smtp.port
    assert report["answer"].startswith("250") and report["error"] is None


@needs_cibadmin
def test_a_refused_recipient_and_an_unreachable_relay_are_clear_errors(cib, smtp):
    r = cib(plain(smtp), [("nobody@example.com", {}), ("ops@example.com", {})])
    assert r.returncode == 1
    assert r.stderr.startswith(
        "xenha: error: not sent to nobody@example.com: mail server 127.0.0.1:%d: refused "
        "the recipient nobody@example.com: 550 5.1.1" % smtp.port
    ), r.stderr
    assert [rcpt for rcpt, _ in smtp.mails] == [["ops@example.com"]]  # the others still go
    port = free_port()  # nothing listens there
    r = cib(dict(plain(smtp), smtp_port=port), [("ops@example.com", {})])
    assert r.returncode == 1 and "ConnectionRefusedError" in r.stderr, r.stderr
    assert "mail server 127.0.0.1:%d" % port in r.stderr


@needs_cibadmin
def test_no_alert_or_no_recipient_is_a_clear_error(cib, smtp):
    r = cib(None, [])
    assert r.returncode == 1 and "xenha: error: no e-mail alert is configured" in r.stderr
    r = cib(plain(smtp), [("ops@example.com", {})], path="/usr/lib/other/agent")
    assert r.returncode == 1 and "no e-mail alert is configured" in r.stderr
    r = cib(plain(smtp), [])
    assert r.returncode == 1 and "alert email has no recipient: give one with --to" in r.stderr
    r = cib(dict(plain(smtp), smtp_port="twenty-five"), [("ops@example.com", {})])
    assert r.returncode == 1 and "smtp_port='twenty-five'" in r.stderr, r.stderr
    assert smtp.mails == []


def test_without_a_cluster_the_cib_cannot_be_read(xenha, tmp_path):
    fake = tmp_path / "cibadmin"
    fake.write_text("#!/bin/sh\necho 'Could not connect to the CIB: Transport endpoint' >&2\n"
                    "exit 102\n")  # fmt: skip
    fake.chmod(0o755)
    r = xenha("alert", "test", env=dict(os.environ, PATH="%s:%s" % (tmp_path, os.environ["PATH"])))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("xenha: error: cannot read the alerts from the CIB: cibadmin")
    assert "Could not connect to the CIB" in r.stderr


@pytest.fixture
def tls(shared):
    """A certificate for 127.0.0.1 and the password file, readable by hacluster as the
    alert's are (root:haclient 0640)."""
    cert, key = testing.tls_certificate(shared)
    os.chmod(cert, 0o644)
    secret = os.path.join(shared, "smtp.secret")
    with open(secret, "w") as f:
        f.write(SECRET + "\n")
    os.chown(secret, 0, grp.getgrnam("haclient").gr_gid)
    os.chmod(secret, 0o640)
    return {"cert": cert, "key": key, "secret": secret}


def login_attrs(server, tls):
    return {
        "smtp_server": "127.0.0.1",
        "smtp_port": server.port,
        "smtp_starttls": "true",
        "smtp_user": "xenha",
        "smtp_password_file": tls["secret"],
        "smtp_ca_file": tls["cert"],
    }


@needs_cibadmin
def test_debug_shows_the_conversation_with_the_login_masked(cib, tls):
    with smtp_server(tls) as server:
        r = cib(login_attrs(server, tls), [("ops@example.com", {})], "--debug")
    assert r.returncode == 0, r.stderr
    assert "how:     STARTTLS, login xenha, as hacluster" in r.stdout
    assert server.logins == [("xenha", True)] and len(server.mails) == 1
    talk = r.stderr
    assert "smtp: send: 'STARTTLS\\r\\n'" in talk and "smtp: reply: retcode (235)" in talk
    assert "smtp: send: 'AUTH PLAIN ********'" in talk
    secret_forms = [SECRET, base64.b64encode(("\0xenha\0" + SECRET).encode()).decode()]
    assert not any(s in r.stdout + talk for s in secret_forms)


@needs_cibadmin
def test_a_password_file_hacluster_cannot_read_fails_as_it_would_for_the_agent(cib, tls):
    os.chmod(tls["secret"], 0o600)  # root's only: the agent (hacluster) cannot read it
    with smtp_server(tls) as server:
        r = cib(login_attrs(server, tls), [("ops@example.com", {})])
    assert r.returncode == 1 and "smtp_password_file %s: Permission denied" % tls["secret"] in (
        r.stderr
    ), r.stderr
    assert server.mails == []


def test_an_auth_login_exchange_is_masked_line_by_line():
    """AUTH LOGIN sends the user and the password as separate base64 lines, each an answer
    to a 334 challenge: every one is masked until the server's verdict."""
    lines = []
    client = mail._client(lines.append, SECRET)()  # no host: nothing connects
    user, password = (base64.b64encode(x.encode()).decode() for x in ("xenha", SECRET))
    for args in (
        ("send:", repr("AUTH LOGIN %s\r\n" % user)),
        ("reply:", repr(b"334 UGFzc3dvcmQ6\r\n")),
        ("reply: retcode (334); Msg: b'UGFzc3dvcmQ6'",),
        ("send:", repr("%s\r\n" % password)),
        ("reply: retcode (235); Msg: b'2.7.0 Authentication successful'",),
        ("send:", repr("MAIL FROM:<a@b.c>\r\n")),
        ("send:", repr("oops %s\r\n" % SECRET)),
    ):
        client._print_debug(*args)
    assert lines[0] == "send: 'AUTH LOGIN ********'" and lines[3] == "send: '********'"
    assert lines[5] == "send: 'MAIL FROM:<a@b.c>\\r\\n'"
    assert SECRET not in "".join(lines) and password not in "".join(lines)


def test_the_cibs_alerts_as_pacemaker_passes_them():
    xml = cib_xml({"smtp_server": "mx", "smtp_port": "25"}, [("a@b.c", {"smtp_port": "587"})])
    [alert] = settings.from_cib(xml, ALERT_AGENT)
    assert alert.id == "email" and alert.attrs == {"smtp_server": "mx", "smtp_port": "25"}
    assert alert.recipients == [("a@b.c", {"smtp_server": "mx", "smtp_port": "587"})]
    assert settings.from_cib(xml, "/other") == []
