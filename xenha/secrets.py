"""Where secrets come from: root-only files and password scripts, never argv or logs.

A file's mode is checked on the open file (``fstat``), so the file checked is the
file read: no window for a swap between a ``stat`` and the ``open``. A script runs
without a shell and with no secret in its arguments, and it and its children are
killed when its bound (or a fence agent's alarm) expires.
"""

import os
import shlex
import stat

from xenha.errors import XenhaError


def read_file(path, what="password file", group_may_read=False):
    """The first line of ``path`` without its line ending. XenhaError (naming ``what``)
    when the file cannot be read, is empty, or others than its owner may access it.

    ``group_may_read``: for a service that runs as another user (Pacemaker runs alert
    agents as hacluster) the file may also be root's with its group allowed to read it,
    so it must belong to root or to this process's user, and neither group nor others
    may write it, nor others read it (hacluster 0600, or root:haclient 0640)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        raise XenhaError("%s %s: %s" % (what, path, e.strerror)) from None
    with os.fdopen(fd) as f:
        st = os.fstat(f.fileno())
        mode = stat.S_IMODE(st.st_mode)
        if not group_may_read and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise XenhaError(
                "%s %s is accessible to group or others (mode %04o); run `chmod 600 %s`"
                % (what, path, mode, path)
            )
        if group_may_read and (
            mode & (stat.S_IRWXO | stat.S_IWGRP) or st.st_uid not in (0, os.geteuid())
        ):
            raise XenhaError(
                "%s %s is open to others (mode %04o, uid %d); use owner hacluster mode 0600, "
                "or owner root group haclient mode 0640" % (what, path, mode, st.st_uid)
            )
        try:
            line = f.readline()
        except (OSError, UnicodeDecodeError) as e:
            raise XenhaError("%s %s: %s" % (what, path, e)) from None
    secret = line.rstrip("\r\n")
    if not secret:
        raise XenhaError("%s %s is empty" % (what, path))
    return secret


def run_script(command_line, timeout, what="password_script"):
    """What ``command_line`` prints on its first line; XenhaError (naming ``what``) when
    it cannot run, fails, takes longer than ``timeout`` seconds or prints nothing."""
    from xenha import process

    argv = shlex.split(command_line)
    if not argv:
        raise XenhaError("%s is empty" % what)
    try:
        rc, out, err = process.run(argv, timeout)
    except OSError as e:
        raise XenhaError("%s %s: %s" % (what, argv[0], e.strerror)) from None
    except process.CommandTimeout:
        raise XenhaError("%s %s did not finish within %gs" % (what, argv[0], timeout)) from None
    if rc != 0:
        raise XenhaError("%s %s failed (exit %d): %s" % (what, argv[0], rc, err.strip()[-200:]))
    secret = out.splitlines()[0] if out else ""
    if not secret:
        raise XenhaError("%s %s printed no password" % (what, argv[0]))
    return secret
