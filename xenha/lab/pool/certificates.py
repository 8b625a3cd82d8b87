"""Every simulated host's server certificate: its files, the TLS context its HTTPS
endpoint serves, and its ``Certificate`` record (``host.certificates``), as xapi keeps
them (xen-api ocaml/xapi/certificates.ml ``Db_util.add_cert``; xapi_host.ml
``replace_host_certificate``: the new record in, the old one out, stunnel reloaded)."""

import datetime
import os
import xmlrpc.client

from .tls import make_certificate, server_context, write_bundle

VALID_DAYS = 30  # what tls.make_certificate asks of openssl


class HostCertificates:
    def __init__(self, directory):
        self.directory = directory
        self.by_host = {}  # host name -> tls.Certificate it serves
        self.contexts = {}  # host name -> the ssl.SSLContext of its HTTPS listeners

    def issue(self, host):
        """A new certificate for ``host``; its endpoint presents it from the next
        handshake on (the same context, reloaded, as stunnel's reload)."""
        cert = make_certificate(os.path.join(self.directory, host.name), host.name, [host.address])
        if host.name in self.contexts:
            self.contexts[host.name].load_cert_chain(cert.cert, cert.key)
        else:
            self.contexts[host.name] = server_context(cert)
        self.by_host[host.name] = cert
        return cert

    def bundle(self, path):
        """Every host's certificate in one CA file (the pool's trust bundle)."""
        return write_bundle(path, [self.by_host[name] for name in sorted(self.by_host)])


def record(db, host_ref, cert):
    """The host's Certificate record for ``cert``, replacing its previous one."""
    for ref in list(db.record("host", host_ref)["certificates"]):
        if db.tables["Certificate"][ref]["type"] == "host":
            del db.tables["Certificate"][ref]
            db.record("host", host_ref)["certificates"].remove(ref)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return db.create(
        "Certificate",
        host=host_ref,
        not_before=_datetime(now),
        not_after=_datetime(now + datetime.timedelta(days=VALID_DAYS)),
        fingerprint=cert.sha256,
        fingerprint_sha256=cert.sha256,
        fingerprint_sha1=cert.sha1,
    )


def _datetime(moment):
    return xmlrpc.client.DateTime(moment.strftime("%Y%m%dT%H:%M:%SZ"))
