"""``xenha alert test``: a test mail to each recipient of the cluster's e-mail alert, sent
as the alert agent sends a mail.

The settings are the alert's in the CIB (its instance attributes, a recipient's own
over them, as Pacemaker passes them to the agent); the text is built by
:mod:`xenha.alerts.events` for an event of kind ``test``, the mail composed and
delivered by :mod:`xenha.alerts.mail` within ``smtp_timeout``. Run as root, the
delivery runs with the identity Pacemaker gives the agent (hacluster), so a password
or CA file that user cannot read fails here as it would for a real alert. Only the
speaker rule and duplicate suppression are left out: a test mail always goes, from
this node. ``xenha vm follow`` mails an invalid VM flag the same way (an event of kind
``setting``), once: it keeps what it mailed in the CIB.
"""

import contextlib
import os
import socket
import time

from xenha.alerts import events, mail, settings
from xenha.errors import XenhaError

BYPASSED = "the speaker rule and duplicate suppression are bypassed"


def recipients(alerts, to=None):
    """``[(alert id, address, attributes)]`` to test: every recipient of every alert, or
    only ``to`` with the first alert's own attributes."""
    if not alerts:
        raise XenhaError(
            "no e-mail alert is configured: the CIB has no alert running the xenha alert "
            "agent (give the description an `alerts` section, then `xenha config apply`)"
        )
    if to:
        return [(alerts[0].id, to, alerts[0].attrs)]
    found = [(a.id, address, attrs) for a in alerts for address, attrs in a.recipients]
    if not found:
        raise XenhaError("alert %s has no recipient: give one with --to ADDRESS" % alerts[0].id)
    return found


def send(alert_id, recipient, attrs, debug=None, user=None, event=None):
    """Mail the test (or the ``event``: ``CRM_alert_*`` values) to ``recipient`` with the
    alert's ``attrs``, as ``user`` when this process is root; a report (a dict) of where
    it went, or why it did not."""
    host = socket.gethostname()
    report = {"alert": alert_id, "recipient": recipient, "sent": False, "error": None}
    started = time.monotonic()
    try:
        address = settings.address("recipient", recipient)
        config = settings.Settings(attrs)
        report.update(
            server=config.server,
            port=config.port,
            starttls=config.starttls,
            login=config.user,
            sender=config.sender,
            timeout=config.timeout,
        )
        given = {
            "CRM_alert_kind": events.TEST,
            "CRM_alert_node": host,
            "CRM_alert_timestamp": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        }
        given.update(event or {})
        event = events.Event(dict(given, CRM_alert_recipient=address))
        outcome, subject = event.summary()
        message = mail.compose(config, address, subject, event.body(outcome, subject, host))
        report["subject"] = message["Subject"]
        with _identity(user) as who:
            report["user"] = who
            report["answer"] = mail.send(config, message, config.timeout, debug)
        report["sent"] = True
    except XenhaError as e:
        report["error"] = str(e)
    report["seconds"] = round(time.monotonic() - started, 3)
    return report


@contextlib.contextmanager
def _identity(user):
    """Within the block, this process's effective user and group are ``user``'s (its
    primary group only, as Pacemaker runs an alert agent) when it runs as root and
    ``user`` exists; yields the name of the user the block runs as."""
    import pwd

    try:
        me = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        me = "uid %d" % os.geteuid()
    try:
        pw = pwd.getpwnam(user) if user and os.geteuid() == 0 else None
    except KeyError:
        pw = None
    if pw is None:
        yield me
        return
    groups, gid = os.getgroups(), os.getegid()
    os.setgroups([])
    os.setegid(pw.pw_gid)
    os.seteuid(pw.pw_uid)
    try:
        yield user
    finally:
        os.seteuid(0)
        os.setegid(gid)
        os.setgroups(groups)
