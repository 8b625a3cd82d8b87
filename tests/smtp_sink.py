"""An SMTP server (aiosmtpd) that keeps what it receives, for the alert-email tests: on
127.0.0.1 for the agent's own tests, on the lab bridge for the lab's hosts."""

import contextlib
import email
import socket

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from xenha.lab.power import testing

SECRET = "s3cret-Pa55"  # the password the server accepts when it demands a login


class Inbox:
    """aiosmtpd handler: keeps every message it accepts."""

    def __init__(self, refuse=()):
        self.mails = []
        self.logins = []
        self.refuse = set(refuse)  # recipients it answers 550

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content)
        self.mails.append((envelope.rcpt_tos, msg))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        login, password = (
            x.decode() if isinstance(x, bytes) else x for x in (auth_data.login, auth_data.password)
        )
        ok = isinstance(auth_data, LoginPassword) and password == SECRET
        self.logins.append((login, ok))
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    def subjects(self):
        return [msg["Subject"] for _, msg in self.mails]


def free_port():
    return testing.free_port(socket.SOCK_STREAM)


@contextlib.contextmanager
def smtp_server(tls=None, host="127.0.0.1", refuse=()):
    """An SMTP server on a free port of ``host``; yields its Inbox (with ``port``). With
    ``tls`` (``{"cert", "key"}``), it demands STARTTLS with that certificate, then a login;
    it refuses the recipients in ``refuse``."""
    inbox = Inbox(refuse)
    secure = {}
    if tls:
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls["cert"], tls["key"])
        secure = dict(tls_context=context, require_starttls=True, auth_required=True)
        secure.update(authenticator=inbox.authenticate)
    server = Controller(inbox, hostname=host, port=free_port(), **secure)
    server.start()
    inbox.port = server.port
    try:
        yield inbox
    finally:
        server.stop()
