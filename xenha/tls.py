"""The one TLS client policy (XAPI, Redfish, RIBCL): verify against the system CAs or
``ca_file``; skip verification only when the operator asked, and say so in the log; a
CA file that cannot be loaded is a clear error now, not a puzzling handshake failure later."""

import ssl

from xenha import log
from xenha.errors import XenhaError


def context(ca_file=None, insecure=False, what="the server"):
    """A client ``ssl.SSLContext`` for talking to ``what`` (named in the warning)."""
    if insecure:
        log.warning("TLS certificate verification of %s is disabled (insecure)", what)
        return ssl._create_unverified_context()  # noqa: S323 - the operator asked for it
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as e:
        raise XenhaError("cannot load CA file %s: %s" % (ca_file, e)) from None
