"""The one reader of root-only secret files (XAPI password, fence device secrets).

The mode is checked on the open file (``fstat``), so the file checked is the file
read: no window for a swap between a ``stat`` and the ``open``.
"""

import os
import stat

from xenha.errors import XenhaError


def read(path, what="password file"):
    """The first line of ``path`` without its line ending. XenhaError (naming ``what``)
    when the file cannot be read, group or others may access it, or the line is empty."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        raise XenhaError("%s %s: %s" % (what, path, e.strerror)) from None
    with os.fdopen(fd) as f:
        mode = os.fstat(f.fileno()).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise XenhaError(
                "%s %s is accessible to group or others (mode %04o); run `chmod 600 %s`"
                % (what, path, stat.S_IMODE(mode), path)
            )
        try:
            line = f.readline()
        except (OSError, UnicodeDecodeError) as e:
            raise XenhaError("%s %s: %s" % (what, path, e)) from None
    secret = line.rstrip("\r\n")
    if not secret:
        raise XenhaError("%s %s is empty" % (what, path))
    return secret
