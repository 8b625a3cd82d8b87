"""A self-signed certificate for the simulated hosts' HTTPS endpoints (openssl CLI)."""

import hashlib
import os
import ssl
import subprocess


def make_certificate(directory, addresses):
    """Write cert.pem/key.pem valid for ``addresses``; return (cert path, key path,
    SHA-256 fingerprint as colon-separated hex)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    san = ",".join("IP:%s" % a for a in addresses)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=xenha-sim",
         "-addext", "subjectAltName=" + san],
        check=True, capture_output=True,
    )  # fmt: skip
    os.chmod(key, 0o600)
    with open(cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return cert, key, ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx
