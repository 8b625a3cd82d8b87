"""HP iLO power through RIBCL over TLS (python-hpilo): iLO 2 to iLO 5.

python-hpilo takes a ready ``ssl_context``, so the certificate is verified
(against ``ssl_ca_file`` or the system CAs) unless ``ssl_insecure=1``.
"""

import socket

from xenha import tls
from xenha.fencing.device import OFF, ON, Device, FenceError, Unreachable

PORT = 443


class RibclDevice(Device):
    plugs = False

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        import hpilo

        self.hpilo = hpilo
        self.where = "iLO %s:%d" % (opts.ip, opts.ipport or PORT)
        context = tls.context(opts.ssl_ca_file, opts.ssl_insecure, self.where)
        self.ilo = hpilo.Ilo(
            opts.ip,
            login=opts.username or "Administrator",
            password=secret(),
            timeout=opts.login_timeout,
            port=opts.ipport or PORT,
            ssl_context=context,
        )

    def _call(self, what, fn, *args, **kw):
        h = self.hpilo
        try:
            return fn(*args, **kw)
        except h.IloLoginFailed:
            raise FenceError(
                "%s refused the login for user %r" % (self.where, self.ilo.login)
            ) from None
        except h.IloCommunicationError as e:
            if "CERTIFICATE_VERIFY_FAILED" in str(e):
                raise FenceError(
                    "%s: certificate not trusted (%s); set ssl_ca_file to its CA, or "
                    "ssl_insecure=1" % (self.where, e)
                ) from None
            raise Unreachable("%s: %s while %s" % (self.where, e, what)) from None
        except h.IloError as e:
            raise FenceError("%s: %s while %s" % (self.where, e, what)) from None
        except (OSError, socket.timeout) as e:
            raise Unreachable("%s: %s while %s" % (self.where, e, what)) from None

    def get_power(self, target):
        state = self._call("reading the power state", self.ilo.get_host_power_status)
        if state not in ("ON", "OFF"):
            raise FenceError("%s reports host power %r" % (self.where, state))
        return ON if state == "ON" else OFF

    def set_power(self, target, state):
        self._call("switching power %s" % state, self.ilo.set_host_power, state == ON)
