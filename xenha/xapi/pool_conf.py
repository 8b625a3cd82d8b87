"""The role this host's xapi is configured for: /etc/xensource/pool.conf.

xapi writes it before a role change's restart and reads it when it starts
(xen-api ``pool_role.ml``: ``master``, or ``slave:<master address>``), so it says
what this host is while its xapi does not answer (``xe-toolstack-restart``, the
restart after a role change).
"""

from xenha.errors import XenhaError

POOL_CONF = "/etc/xensource/pool.conf"


def configured_role(path=POOL_CONF):
    """``None`` for a master, else the address of the master a slave follows; XenhaError
    when the file cannot be read or says something else."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise XenhaError("cannot read xapi's role from %s: %s" % (path, e)) from None
    if text == "master":
        return None
    role, sep, address = text.partition(":")
    if role == "slave" and sep and address.strip():
        return address.strip()
    raise XenhaError("%s says %r, neither master nor slave:<address>" % (path, text[:80]))
