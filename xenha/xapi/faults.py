"""Typed XAPI errors: callers branch on ``code``; "cannot tell" is its own type."""

from xenha.errors import XenhaError


class XapiError(XenhaError):
    """XAPI answered with a failure, e.g. code "HOST_IS_SLAVE", params ["10.0.0.1"]."""

    def __init__(self, code, params=()):
        self.code = code
        self.params = [str(p) for p in params]
        super().__init__(
            "XAPI error %s%s" % (code, (": " + ", ".join(self.params)) if self.params else "")
        )


class XapiUnreachable(XenhaError):
    """No answer from XAPI (network error, refused, TLS failure, timeout): the state of
    the pool is unknown, which is never the same as "not running".

    ``refused``: nothing listens at the endpoint (connection refused, unix socket
    missing); the request was never sent. ``reset``: the connection was reset or closed
    before the answer; the request may have been carried out. Neither proves xapi is
    not running: ``xe-toolstack-restart`` and every role change stop xapi and start it
    again, its socket refusing (or gone) meanwhile."""

    def __init__(self, message, refused=False, reset=False):
        super().__init__(message)
        self.refused = refused
        self.reset = reset


# What a slave's xapi in emergency mode (booted while no master answers it) fails every
# non-emergency call with: xapi.ml's emergency_mode_error, as its last Pool.hello left it
# (a master's own refusal travels too: a parked master's HOST_ITS_OWN_SLAVE). An
# INTERNAL_ERROR may be that as well, but may be anything: it is not listed.
EMERGENCY_ERRORS = (
    "HOST_STILL_BOOTING",
    "HOST_ITS_OWN_SLAVE",
    "HOST_HAS_NO_MANAGEMENT_IP",
    "HOST_MASTER_CANNOT_TALK_BACK",
    "HOST_UNKNOWN_TO_MASTER",
    "HOST_XAPI_VERSION_HIGHER_THAN_COORDINATOR",
    "HOST_BROKEN",
)


def is_transient(e):
    """Whether ``e`` is xapi restarting rather than an answer or a hang: refused, a
    vanished socket, a connection reset or closed, or HOST_STILL_BOOTING (a slave's new
    xapi refuses every call but the emergency calls until its Pool.hello with the
    master succeeds: xen-api api_server.ml ``callback1``, xapi_globs.ml
    ``emergency_mode_error``). A timeout is not: the call already had its time."""
    if isinstance(e, XapiUnreachable):
        return e.refused or e.reset
    return isinstance(e, XapiError) and e.code == "HOST_STILL_BOOTING"
