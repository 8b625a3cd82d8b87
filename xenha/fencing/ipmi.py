"""IPMI-over-LAN (IPMI 2.0 lanplus) chassis power through pyghmi."""

from xenha.fencing.device import OFF, ON, Device, FenceError, Unreachable

PORT = 623
# pyghmi's client proposes cipher suite 17 first and falls back to 3 when the BMC
# answers "no cipher suite match"; its session's integrityalgo then tells which won.
SUITES = {
    256: "cipher suite 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128)",
    1: "cipher suite 3 (RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128)",
}


class IpmiDevice(Device):
    """One BMC, one machine: ``plug`` is not used."""

    plugs = False

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        from pyghmi.exceptions import IpmiException
        from pyghmi.ipmi import command

        self._errors = IpmiException
        try:
            self.ipmi = command.Command(
                bmc=opts.ip,
                userid=opts.username or "",
                password=secret(),
                port=opts.ipport or PORT,
                keepalive=False,
            )
        except IpmiException as e:
            raise _explain(e, opts) from None
        except OSError as e:
            raise Unreachable("BMC %s:%s: %s" % (opts.ip, opts.ipport or PORT, e)) from None

    def get_power(self, target):
        try:
            state = self.ipmi.get_power()["powerstate"]
        except self._errors as e:
            raise _explain(e, self.opts) from None
        if state not in (ON, OFF):
            raise FenceError("BMC %s reported power state %r" % (self.opts.ip, state))
        return state

    def set_power(self, target, state):
        try:
            self.ipmi.set_power(state, wait=False)
        except self._errors as e:
            raise _explain(e, self.opts) from None

    def negotiated(self):
        # pyghmi's session attribute (older pyghmi, as Debian 11 ships, may lack it): a
        # line for the log only, so an unknown one is nothing to tell.
        session = getattr(self.ipmi, "ipmi_session", None)
        algorithm = getattr(session, "integrityalgo", None)
        if algorithm is None:
            return None
        return "IPMI 2.0 " + SUITES.get(algorithm, "integrity algorithm %r" % (algorithm,))

    def close(self):
        try:
            self.ipmi.ipmi_session.logout()
        except Exception:  # noqa: BLE001 - logging out of a dead session is best effort
            pass


def _explain(error, opts):
    """A specific message for pyghmi's errors: bad credentials vs. no answer."""
    text = str(error.args[0]) if error.args and error.args[0] else ""
    where = "BMC %s:%s" % (opts.ip, opts.ipport or PORT)
    low = text.lower()
    if not text:  # pyghmi's login gave up waiting for an answer
        return Unreachable("%s does not answer" % where)
    if "timeout" in low or "unreachable" in low or "no route" in low:
        return Unreachable("%s does not answer (%s)" % (where, text))
    if "password" in low or "user" in low or "auth" in low or "privilege" in low:
        return FenceError("%s refused the login for user %r: %s" % (where, opts.username, text))
    return FenceError("%s: %s" % (where, text))
