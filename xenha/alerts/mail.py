"""Mail delivery that never holds Pacemaker up: every step is bounded by one deadline.

Name lookup has no timeout of its own (``getaddrinfo`` can wait for minutes
when DNS is down), so the whole delivery runs in a worker thread and the
agent gives up when the deadline passes; each socket step also has a timeout.
"""

import socket
import threading

from xenha import tls
from xenha.errors import XenhaError


def send(settings, message, timeout):
    """Deliver ``message`` within ``timeout`` seconds or raise XenhaError."""
    password = settings.password() if settings.user else None
    outcome = []

    def deliver():
        try:
            _deliver(settings, password, message, timeout)
            outcome.append(None)
        except XenhaError as e:
            outcome.append(e)
        except Exception as e:  # any failure of the network or the server, as one message
            outcome.append(XenhaError("%s: %s" % (type(e).__name__, e)))

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    worker.join(timeout)
    where = "%s:%d" % (settings.server, settings.port)
    if not outcome:
        raise XenhaError("mail server %s: no answer within %gs" % (where, timeout))
    if outcome[0] is not None:
        raise XenhaError("mail server %s: %s" % (where, outcome[0]))


def _deliver(settings, password, message, timeout):
    import smtplib

    # local_hostname: smtplib would otherwise ask DNS for this host's full name.
    with smtplib.SMTP(
        settings.server,
        settings.port,
        local_hostname=socket.gethostname(),
        timeout=max(timeout, 0.1),
    ) as smtp:
        if settings.starttls:
            what = "SMTP server %s" % settings.server
            smtp.starttls(context=tls.context(settings.ca_file, what=what))
        if settings.user:
            smtp.login(settings.user, password)
        smtp.send_message(message)
