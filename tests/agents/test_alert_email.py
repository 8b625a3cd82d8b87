"""The installed alert-email agent, run as hacluster (as Pacemaker runs it) against a real
SMTP server on 127.0.0.1 (aiosmtpd): delivery, suppression, STARTTLS with login, and
bounded failure when the server, the network or DNS is not there."""

import contextlib
import grp
import os
import socket
import subprocess
import threading
import time

import pytest

from tests.conftest import REPO
from tests.smtp_sink import SECRET, free_port, smtp_server
from xenha import install, model
from xenha.crm import plan
from xenha.lab.power import testing

AGENT = install.ALERT_DIR + "/alert-email"
NODE_LOST = {"CRM_alert_kind": "node", "CRM_alert_node": "xs1", "CRM_alert_desc": "lost"}
RECIPIENT = "ops@example.com"


@pytest.fixture
def state(installed):
    path = os.path.join(installed, install.ALERT_STATE_DIR)
    yield path
    for name in os.listdir(path):
        os.remove(os.path.join(path, name))


@pytest.fixture
def smtp():
    with smtp_server() as inbox:
        yield inbox


def run_agent(installed, state, event, recipient=RECIPIENT, **attrs):
    """Run the installed launcher as hacluster with Pacemaker's kind of environment."""
    env = {"PATH": "/usr/bin:/bin", "CRM_alert_version": "2.1.5", "CRM_alert_timestamp": "now"}
    env.update(event, CRM_alert_recipient=recipient, state_dir=state)
    env.update({k: str(v) for k, v in attrs.items()})
    started = time.monotonic()
    r = subprocess.run(
        [os.path.join(installed, AGENT)],
        env=env,
        user="hacluster",
        group="haclient",
        extra_groups=[],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    )
    r.elapsed = time.monotonic() - started
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_node_lost_is_mailed_to_the_recipient(installed, state, smtp):
    r = run_agent(installed, state, NODE_LOST, smtp_server="127.0.0.1", smtp_port=smtp.port)
    assert r.returncode == 0, r.stderr
    assert "sent to ops@example.com" in r.stdout
    [(rcpt, msg)] = smtp.mails
    assert rcpt == [RECIPIENT] and msg["To"] == RECIPIENT
    assert msg["Subject"] == "[xenha] host xs1 lost: it left the cluster"
    assert msg["From"] == "xenha@" + socket.gethostname()
    body = msg.get_payload()
    assert "node:        xs1" in body and "fences xs1" in body


def test_repeats_are_suppressed_within_the_window_and_sent_after_it(installed, state, smtp):
    attrs = {"smtp_server": "127.0.0.1", "smtp_port": smtp.port, "suppress_minutes": 60}
    assert run_agent(installed, state, NODE_LOST, **attrs).returncode == 0
    r = run_agent(installed, state, NODE_LOST, **attrs)
    assert r.returncode == 0 and "suppressed" in r.stdout
    assert len(smtp.mails) == 1
    # Another recipient of the same alert is a separate key: it gets its own mail.
    assert run_agent(installed, state, NODE_LOST, "oncall@example.com", **attrs).returncode == 0
    assert len(smtp.mails) == 2
    # The window passes: age every record by 61 minutes.
    for name in os.listdir(state):
        old = time.time() - 61 * 60
        os.utime(os.path.join(state, name), (old, old))
    r = run_agent(installed, state, NODE_LOST, **attrs)
    assert r.returncode == 0 and "sent" in r.stdout
    assert len(smtp.mails) == 3


def test_concurrent_copies_of_one_event_send_one_mail(installed, state, smtp):
    event = {
        "CRM_alert_kind": "fencing",
        "CRM_alert_node": "xs2",
        "CRM_alert_task": "st_notify_fence",  # Pacemaker's name; the action is in desc
        "CRM_alert_rc": "0",
        "CRM_alert_desc": "Operation off of xs2 by xs1 for pacemaker-controld.42@xs1: OK",
    }
    results = []

    def one():
        results.append(
            run_agent(installed, state, event, smtp_server="127.0.0.1", smtp_port=smtp.port)
        )

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert len(smtp.mails) == 1
    assert smtp.mails[0][1]["Subject"] == "[xenha] host xs2 fenced (off)"


class Cluster:
    """Fake ``crm_node`` and ``crmadmin`` (readable by hacluster) telling this node's name,
    the DC and the members, as a node of a running cluster answers."""

    def __init__(self, directory):
        self.bin = directory
        os.makedirs(directory)
        os.chmod(directory, 0o755)
        for tool, body in (
            ("crm_node", '[ "$1" = -n ] && cat "$d/me" || cat "$d/members"'),
            ("crmadmin", 'echo "Designated Controller is: $(cat "$d/dc")"'),
        ):
            path = os.path.join(directory, tool)
            with open(path, "w") as f:
                f.write('#!/bin/sh\nd="%s"\n%s\n' % (directory, body))
            os.chmod(path, 0o755)

    def seen_from(self, me, dc, members):
        for name, text in (
            ("me", me),
            ("dc", dc),
            ("members", "".join("%d %s member\n" % (i, m) for i, m in enumerate(members, 1))),
        ):
            with open(os.path.join(self.bin, name), "w") as f:
                f.write(text + "\n")
            os.chmod(os.path.join(self.bin, name), 0o644)
        return {"PATH": self.bin + ":/usr/bin:/bin"}


@pytest.fixture
def cluster(installed, tmp_path_factory):
    d = os.path.join(installed, os.path.basename(str(tmp_path_factory.mktemp("pcmk"))))
    yield Cluster(d)
    import shutil

    shutil.rmtree(d)


def test_only_the_dc_mails_a_node_loss_and_every_node_keeps_the_window(
    installed, state, smtp, cluster
):
    """xs2 leaves xs1's loss to the DC xs3 but records it: when xs3 is lost in turn and
    xs2 becomes the DC, a repeat of xs1's loss within the window is no new mail."""
    attrs = {"smtp_server": "127.0.0.1", "smtp_port": smtp.port}
    env = dict(NODE_LOST, **cluster.seen_from("xs2", "xs3", ["xs2", "xs3"]))
    r = run_agent(installed, state, env, **attrs)
    assert r.returncode == 0 and "the DC, xs3, mails it" in r.stdout, r.stdout + r.stderr
    assert smtp.mails == []
    env.update(cluster.seen_from("xs2", "xs2", ["xs2"]))
    r = run_agent(installed, state, env, **attrs)
    assert r.returncode == 0 and "suppressed" in r.stdout, r.stdout + r.stderr
    assert smtp.mails == []
    other = dict(NODE_LOST, CRM_alert_node="xs3", **cluster.seen_from("xs2", "xs2", ["xs2"]))
    r = run_agent(installed, state, other, **attrs)
    assert r.returncode == 0 and "this node is the DC" in r.stdout, r.stdout + r.stderr
    [(_, msg)] = smtp.mails
    assert msg["Subject"] == "[xenha] host xs3 lost: it left the cluster"


@pytest.mark.parametrize(
    "event",
    [
        {"CRM_alert_kind": "resource", "CRM_alert_rsc": "vm-db", "CRM_alert_task": "monitor",
         "CRM_alert_interval": "10000", "CRM_alert_rc": "0", "CRM_alert_target_rc": "0",
         "CRM_alert_status": "0", "CRM_alert_desc": "ok", "CRM_alert_node": "xs1"},
        {"CRM_alert_kind": "node", "CRM_alert_node": "xs1", "CRM_alert_desc": "member"},
        {"CRM_alert_kind": "attribute", "CRM_alert_node": "xs1",
         "CRM_alert_attribute_name": "pingd", "CRM_alert_attribute_value": "1000"},
    ],
    ids=["monitor-ok", "node-member", "attribute"],
)  # fmt: skip
def test_routine_events_send_nothing(installed, state, smtp, event):
    r = run_agent(installed, state, event, smtp_server="127.0.0.1", smtp_port=smtp.port)
    assert r.returncode == 0 and "routine" in r.stdout, r.stderr
    assert smtp.mails == [] and os.listdir(state) == []


def test_window_zero_sends_every_time(installed, state, smtp):
    attrs = {"smtp_server": "127.0.0.1", "smtp_port": smtp.port, "suppress_minutes": 0}
    for _ in range(2):
        assert run_agent(installed, state, NODE_LOST, **attrs).returncode == 0
    assert len(smtp.mails) == 2 and os.listdir(state) == []


def test_server_down_fails_fast_and_is_retried_next_time(installed, state, smtp):
    port = free_port()  # nothing listens there
    r = run_agent(installed, state, NODE_LOST, smtp_server="127.0.0.1", smtp_port=port)
    assert r.returncode == 1
    assert r.stderr.startswith("alert-email: error: mail server 127.0.0.1:%d:" % port)
    assert "refused" in r.stderr.lower() and r.elapsed < 5
    # Nothing was recorded as sent, so the next alert for the event is not suppressed.
    r = run_agent(installed, state, NODE_LOST, smtp_server="127.0.0.1", smtp_port=smtp.port)
    assert r.returncode == 0 and len(smtp.mails) == 1


def test_unresolvable_server_name_fails_within_the_timeout(installed, state):
    r = run_agent(installed, state, NODE_LOST, smtp_server="mail.invalid", smtp_timeout=2)
    assert r.returncode == 1 and "mail server mail.invalid:25" in r.stderr, r.stderr
    assert r.elapsed < 2 + 3


@contextlib.contextmanager
def silent_server():
    """A port on 127.0.0.1 that accepts connections and never greets."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        yield listener.getsockname()[1]


def test_silent_server_is_given_up_on_at_the_deadline(installed, state):
    with silent_server() as port:
        r = run_agent(
            installed, state, NODE_LOST, smtp_server="127.0.0.1", smtp_port=port, smtp_timeout=1
        )
    assert r.returncode == 1 and "127.0.0.1:%d" % port in r.stderr, r.stderr
    assert 1 <= r.elapsed < 1 + 3


def test_an_election_and_a_silent_server_together_stay_within_the_timeout(
    installed, state, cluster
):
    """No DC is named (an election that does not end): the node mails after half the
    budget, and the delivery has only the rest."""
    env = dict(NODE_LOST, **cluster.seen_from("xs2", "", ["xs2", "xs3"]))
    with silent_server() as port:
        r = run_agent(
            installed, state, env, smtp_server="127.0.0.1", smtp_port=port, smtp_timeout=2
        )
    assert r.returncode == 1 and "127.0.0.1:%d" % port in r.stderr, r.stderr
    assert 2 <= r.elapsed < 2 + 2


def haclient_file(directory, name, text, mode=0o640):
    """A file only root and hacluster read, as docs/alerts.md asks of the SMTP password file
    (root:haclient, 0640); another ``mode`` opens it further."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chown(path, 0, grp.getgrnam("haclient").gr_gid)
    os.chmod(path, mode)
    return path


@pytest.fixture(scope="module")
def tls(installed):
    """A self-signed certificate for 127.0.0.1, and the SMTP password file hacluster reads."""
    d = os.path.join(installed, "tls")
    os.mkdir(d)
    os.chmod(d, 0o755)
    cert, key = testing.tls_certificate(d)
    os.chmod(cert, 0o644)
    return {"dir": d, "cert": cert, "key": key, "secret": haclient_file(d, "smtp.secret", SECRET)}


@pytest.fixture
def tls_smtp(tls):
    with smtp_server(tls) as inbox:
        yield inbox


def generated_attrs(tls_smtp, password_file, ca_file):
    """The instance attributes `xenha config generate` emits for the golden description,
    pointed at ``tls_smtp`` with the password in ``password_file`` and the server's
    certificate trusted from ``ca_file`` (None: the system's CAs only)."""
    cfg = plan.build(model.load(os.path.join(REPO, "tests", "golden", "two-node-qdevice.yaml")))
    attrs = dict(cfg.alerts[0].attrs)
    attrs.update(smtp_server="127.0.0.1", smtp_port=tls_smtp.port)
    attrs.update(smtp_password_file=password_file)
    if ca_file:
        attrs.update(smtp_ca_file=ca_file)
    return attrs


def test_starttls_and_login_with_the_generated_attributes(installed, state, tls, tls_smtp):
    attrs = generated_attrs(tls_smtp, tls["secret"], tls["cert"])
    event = {"CRM_alert_kind": "resource", "CRM_alert_rsc": "vm-db", "CRM_alert_task": "start",
             "CRM_alert_rc": "1", "CRM_alert_target_rc": "0", "CRM_alert_status": "4",
             "CRM_alert_desc": "error", "CRM_alert_node": "xs2"}  # fmt: skip
    r = run_agent(installed, state, event, **attrs)
    assert r.returncode == 0, r.stderr
    assert tls_smtp.logins == [("xenha", True)]
    [(rcpt, msg)] = tls_smtp.mails
    assert msg["Subject"] == "[xenha] VM vm-db failed to start on xs2: error"
    assert msg["From"] == "xenha@example.com"
    assert SECRET not in r.stdout + r.stderr


def test_wrong_password_is_an_error_that_hides_the_secret(installed, state, tls, tls_smtp):
    wrong = haclient_file(tls["dir"], "wrong.secret", "not-" + SECRET)
    attrs = generated_attrs(tls_smtp, wrong, tls["cert"])
    r = run_agent(installed, state, NODE_LOST, **attrs)
    assert r.returncode == 1 and "SMTPAuthenticationError" in r.stderr, r.stderr
    assert SECRET not in r.stdout + r.stderr and tls_smtp.mails == []


def test_untrusted_certificate_is_refused(installed, state, tls, tls_smtp):
    attrs = generated_attrs(tls_smtp, tls["secret"], ca_file=None)
    r = run_agent(installed, state, NODE_LOST, **attrs)
    assert r.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in r.stderr, r.stderr
    assert tls_smtp.logins == [] and tls_smtp.mails == []


@pytest.mark.parametrize("mode", [0o644, 0o660])
def test_password_file_open_to_others_is_refused(installed, state, tls, tls_smtp, mode):
    message = "open to others (mode %04o" % mode
    path = haclient_file(tls["dir"], "open.secret", SECRET, mode)
    attrs = generated_attrs(tls_smtp, path, tls["cert"])
    r = run_agent(installed, state, NODE_LOST, **attrs)
    assert r.returncode == 1 and message in r.stderr, r.stderr
    assert tls_smtp.logins == [] and tls_smtp.mails == []


@pytest.mark.parametrize(
    "attrs, message",
    [
        ({"smtp_user": "xenha", "smtp_password_file": "/x"}, "smtp_starttls is not"),
        ({"smtp_port": "twenty-five"}, "smtp_port='twenty-five': expected a number above 0"),
        ({"smtp_starttls": "maybe"}, "smtp_starttls='maybe': expected true or false"),
        ({"suppress_minutes": "-1"}, "expected a number of 0 or more"),
    ],
)
def test_bad_attributes_are_clear_errors(installed, state, attrs, message):
    r = run_agent(installed, state, NODE_LOST, **attrs)
    assert r.returncode == 1 and message in r.stderr, r.stderr


def test_bad_recipient_is_refused_and_none_is_nothing_to_do(installed, state):
    for bad in ("ops@example.com\nBcc: all@example.com", "ops@example.com, x@example.com"):
        r = run_agent(installed, state, NODE_LOST, bad)
        assert r.returncode == 1 and "is not one e-mail address" in r.stderr, r.stderr
    r = run_agent(installed, state, NODE_LOST, "")
    assert r.returncode == 0 and "no recipient" in r.stdout
