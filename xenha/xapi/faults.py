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

    ``refused`` is True when nothing listens at the endpoint (connection refused, unix
    socket missing): xapi is definitely not running there, unlike a timeout or a reset."""

    def __init__(self, message, refused=False):
        super().__init__(message)
        self.refused = refused
