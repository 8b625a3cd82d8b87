"""alert-email: mail one significant cluster event to the alert's recipient.

Pacemaker runs it as ``hacluster``, once per event and recipient, with the event
in ``CRM_alert_*`` variables and the alert's instance attributes as plain
variables (docs/alerts.md). Pacemaker raises most events on several nodes; one
of them speaks (:mod:`xenha.alerts.speaker`), the others only record the event
for the suppression window. What is worth a mail and its text, the settings,
the speaker, the suppression of repeats and the delivery live in
:mod:`xenha.alerts`; this file decides what one alert does with them.

Exit 0 when the mail went out, was not needed (a routine event, no
recipient, another node speaks) or was suppressed as a repeat; exit 1 with one line on stderr when
it could not be sent. Pacemaker logs both.
"""

from xenha.alerts.events import Event
from xenha.errors import XenhaError


def run(env):
    """Handle the alert described by ``env``; return a one-line report."""
    event = Event(env)
    summary = event.summary()
    if summary is None:
        return "routine %s event: no mail" % (event.kind or "unknown")
    if not event.recipient:
        return "no recipient configured: no mail"

    import socket

    from xenha.alerts import mail, settings, speaker
    from xenha.alerts.suppress import Suppressor
    from xenha.deadline import Deadline

    recipient = settings.address("recipient", event.recipient)
    config = settings.Settings(env)
    deadline = Deadline(config.timeout)  # the whole alert: speaker, other copies, delivery
    verdict = speaker.decide(event, deadline.fraction(0.5))
    outcome, subject = summary
    key = "|".join((event.kind, event.node, event.rsc, outcome, recipient))
    suppressor = Suppressor(config.state_dir, config.suppress_minutes, wait=deadline.left())
    record = suppressor.claim(key)
    if record is None:
        return "suppressed (mailed within %g minutes, or being mailed now): %s" % (
            config.suppress_minutes,
            subject,
        )
    try:
        if not verdict.speaks:
            # Recorded as if mailed here: should this node speak for a repeat within the
            # window (the DC lost meanwhile), the repeat stays suppressed.
            record.sent()
            return "%s: %s" % (verdict.reason, subject)
        body = event.body(outcome, subject, socket.gethostname())
        message = mail.compose(config, recipient, subject, body)
        mail.send(config, message, deadline.left())
        record.sent()
    finally:
        record.close()
    return "sent to %s (%s): %s" % (recipient, verdict.reason, subject)


def main():
    """The report on stdout; errors (and library warnings) on stderr, which Pacemaker
    logs, and to syslog (daemon) under the agent's name."""
    import os

    from xenha.log import COMMAND, Log, using
    from xenha.process import exit_now

    log = Log("alert-email", facility="daemon", stderr="warning", style=COMMAND)
    with using(log):
        try:
            print("alert-email: " + run(os.environ))
        except XenhaError as e:
            log.error(str(e))
            exit_now(1)
    exit_now(0)


if __name__ == "__main__":
    main()
