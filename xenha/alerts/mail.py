"""Mail delivery that never holds Pacemaker up: every step is bounded by one deadline.

Name lookup has no timeout of its own (``getaddrinfo`` can wait for minutes
when DNS is down), so the whole delivery runs in a worker thread and the
agent gives up when the deadline passes; each socket step also has a timeout.

The alert agent and ``xenha alert test`` build their mails with :func:`compose` and
deliver them with :func:`send`; the test may watch the SMTP conversation
(``debug``), with the login's secret masked.
"""

import re
import socket
import threading

from xenha import tls
from xenha.errors import XenhaError

SUBJECT_PREFIX = "[xenha] "
MASK = "********"


def compose(settings, recipient, subject, body):
    """The mail of one alert: ``[xenha] subject``, from the alert's sender to ``recipient``."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = SUBJECT_PREFIX + subject
    message["From"] = settings.sender
    message["To"] = recipient
    message.set_content(body)
    return message


def send(settings, message, timeout, debug=None):
    """Deliver ``message`` within ``timeout`` seconds or raise XenhaError; return the
    server's answer to the message (``250 2.0.0 Ok: queued as ...``).

    ``debug``: a function given each line of the SMTP conversation (smtplib's debug
    output), the password and whatever the login sends masked.
    """
    password = settings.password() if settings.user else None
    outcome = []

    def deliver():
        try:
            outcome.append(_deliver(settings, password, message, timeout, debug))
        except XenhaError as e:
            outcome.append(e)
        except Exception as e:  # any failure of the network or the server, as one message
            outcome.append(XenhaError(_failure(e)))

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    worker.join(timeout)
    where = "%s:%d" % (settings.server, settings.port)
    if not outcome:
        raise XenhaError("mail server %s: no answer within %gs" % (where, timeout))
    if isinstance(outcome[0], XenhaError):
        raise XenhaError("mail server %s: %s" % (where, outcome[0]))
    return outcome[0]


def _failure(e):
    """One line for a failed delivery: the recipient or sender the server refused, with
    its answer, or the error's type and text."""
    import smtplib

    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            "refused the recipient %s: %s" % (who, _answer(*why))
            for who, why in sorted(e.recipients.items())
        )
    if isinstance(e, smtplib.SMTPSenderRefused):
        return "refused the sender %s: %s" % (e.sender, _answer(e.smtp_code, e.smtp_error))
    return "%s: %s" % (type(e).__name__, e)


def _answer(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(("%s %s" % (code, text)).split())


def _deliver(settings, password, message, timeout, debug):
    client = _client(debug, password)
    # local_hostname: smtplib would otherwise ask DNS for this host's full name.
    with client(
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
        return smtp.answer


def _client(debug, password):
    """An ``smtplib.SMTP`` class that keeps the server's answer to the message and, with
    ``debug``, passes each line of the conversation to it, the login masked."""
    import smtplib

    class Client(smtplib.SMTP):
        answer = ""
        _in_login = False

        def data(self, msg):
            code, text = super().data(msg)
            self.answer = _answer(code, text)
            return code, text

        def _print_debug(self, *args):
            debug(self._masked(" ".join(str(a) for a in args)))

        def _masked(self, line):
            if line.startswith("send:"):
                login = re.match(r"send: ['\"]AUTH ([\w-]+)", line)
                if login:
                    self._in_login = True
                    return "send: 'AUTH %s %s'" % (login.group(1), MASK)
                if self._in_login:
                    return "send: '%s'" % MASK
            elif line.startswith("reply: retcode") and "(334)" not in line:
                self._in_login = False
            return line.replace(password, MASK) if password else line

    if debug is not None:
        Client.debuglevel = 1
    return Client
