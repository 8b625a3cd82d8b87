"""Each simulated host's own self-signed server certificate (openssl CLI), as XCP-ng
8.2+ / XenServer 8 give every host one: xen-api ocaml/gencert/selfcert.ml ``host``
(CN the host's name, subjectAltName its names and management address), made at
install and again by ``host.reset_server_certificate`` (xapi_host.ml)."""

import collections
import hashlib
import os
import ssl
import subprocess

Certificate = collections.namedtuple("Certificate", "cert key pem sha256 sha1")


def make_certificate(directory, name, addresses):
    """Write ``name``'s cert.pem/key.pem under ``directory``, valid for ``addresses``."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    san = ",".join(["DNS:%s" % name] + ["IP:%s" % a for a in addresses])
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=%s" % name,
         "-addext", "subjectAltName=" + san],
        check=True, capture_output=True,
    )  # fmt: skip
    os.chmod(key, 0o600)
    with open(cert) as f:
        pem = f.read()
    der = ssl.PEM_cert_to_DER_cert(pem)
    return Certificate(cert, key, pem, _hex(hashlib.sha256(der)), _hex(hashlib.sha1(der)))


def _hex(digest):
    """As xapi shows a fingerprint (certificates.ml pp_hash): colon-separated upper hex."""
    text = digest.hexdigest().upper()
    return ":".join(text[i : i + 2] for i in range(0, len(text), 2))


def write_bundle(path, certificates):
    """Every host's certificate in one file: the pool's trust bundle, as a CA file."""
    with open(path, "w") as f:
        f.write("".join(c.pem for c in certificates))
    return path


def server_context(certificate):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certificate.cert, certificate.key)
    return ctx
