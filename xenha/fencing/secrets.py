"""The device password: from a root-only file, a script or stdin; never argv, never logs."""

import shlex

from xenha import command, secret_file
from xenha.errors import XenhaError
from xenha.fencing.options import UsageError


def read_password_file(path):
    """First line of ``path``; refused when group or others may read or write the file."""
    try:
        return secret_file.read(path, "password_file")
    except XenhaError as e:
        raise UsageError(str(e)) from None


def run_password_script(command_line, timeout):
    """What ``command_line`` prints on its first line; it runs without a shell and with no
    secret, and it and its children are killed when the bound or the agent's alarm expires."""
    argv = shlex.split(command_line)
    if not argv:
        raise UsageError("password_script is empty")
    try:
        rc, out, err = command.run(argv, timeout)
    except OSError as e:
        raise UsageError("password_script %s: %s" % (argv[0], e.strerror)) from None
    except command.CommandTimeout:
        raise UsageError(
            "password_script %s did not finish within %gs" % (argv[0], timeout)
        ) from None
    if rc != 0:
        raise UsageError(
            "password_script %s failed (exit %d): %s" % (argv[0], rc, err.strip()[-200:])
        )
    secret = out.splitlines()[0] if out else ""
    if not secret:
        raise UsageError("password_script %s printed no password" % argv[0])
    return secret


def secret(opts, prefix="password", required=True):
    """The secret from ``<prefix>_file``, ``<prefix>_script`` or ``<prefix>`` itself, in that
    order of preference (``password``; ``snmp_priv_passwd`` for SNMPv3 privacy)."""
    path = getattr(opts, prefix + "_file", None)
    if path:
        return read_password_file(path)
    script = getattr(opts, prefix + "_script", None)
    if script:
        return run_password_script(script, opts.login_timeout)
    value = getattr(opts, prefix, None)
    if value:
        return value
    if required:
        raise UsageError("no %s: set %s_file (root-only), %s_script or %s" % ((prefix,) * 4))
    return None


def password(opts, required=True):
    """The device password (password_file, password_script or password)."""
    return secret(opts, "password", required)
