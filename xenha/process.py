"""How an agent process ends.

Pacemaker starts an agent every few seconds per resource. Once its exit code is
known, the interpreter's own teardown (freeing every imported module: the XenAPI
SDK, pysnmp, pyghmi) costs about as much as a monitor's XAPI call, and nothing in
it matters to the agent: its output is flushed here, its files are closed and its
syslog messages already sent. So it ends with ``os._exit``.
"""

import os
import sys


def exit_now(code):
    """Flush stdout and stderr, then end the process with ``code`` (an int)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # output lost (closed pipe): as the interpreter, not 0
        code = code or 120
    os._exit(code)
