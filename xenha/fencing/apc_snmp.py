"""APC switched rack PDU outlets over SNMP v1, v2c or v3 (PowerNet-MIB rPDU) through pysnmp.

``plug`` is an outlet number, a comma-separated list of numbers, or an outlet
name; a name selects every outlet carrying it, so a host with two power
supplies on two outlets named after it is switched off as a whole.

Requests use numeric OIDs with MIB lookup off: no MIB needs to be loaded or
compiled, which keeps each run short.
"""

from xenha.fencing.device import OFF, ON, Device, FenceError, Unreachable

PORT = 161
RPDU = "1.3.6.1.4.1.318.1.1.12"
OUTLET_NAME = RPDU + ".3.5.1.1.2"  # rPDUOutletStatusOutletName
OUTLET_STATE = RPDU + ".3.5.1.1.4"  # rPDUOutletStatusOutletState: 1 on, 2 off
OUTLET_COMMAND = RPDU + ".3.3.1.1.4"  # rPDUOutletControlOutletCommand
STATES = {1: ON, 2: OFF}
COMMANDS = {ON: 1, OFF: 2}  # immediateOn, immediateOff
HINT = "device down, wrong address, or wrong community / SNMPv3 user"


class ApcSnmpDevice(Device):
    can_list = True
    needs_secret = False  # the community may come inline, from password_file or its default
    unreachable_hint = HINT

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        from pysnmp import hlapi
        from pysnmp.proto import rfc1902

        self.h, self.types = hlapi, rfc1902
        self.where = "PDU %s:%s" % (opts.ip, opts.ipport or PORT)
        self.engine = hlapi.SnmpEngine()
        if opts.snmp_version == "3":
            self.auth = self._v3_user(hlapi, opts, secret)
        else:
            community = opts.community if opts.given("community") else None
            if community is None and (opts.password_file or opts.password_script):
                community = secret()
            self.auth = hlapi.CommunityData(
                community or opts.community, mpModel=0 if opts.snmp_version == "1" else 1
            )
        tries = 3  # within login_timeout, so pysnmp reports the timeout before our alarm does
        self.transport = hlapi.UdpTransportTarget(
            (opts.ip, opts.ipport or PORT),
            timeout=opts.login_timeout * 0.9 / tries,
            retries=tries - 1,
        )

    @staticmethod
    def _v3_user(h, opts, secret):
        """USM user ``username``: authentication key = the password, privacy key its own."""
        from xenha.fencing import secrets

        if not opts.username:
            raise FenceError("SNMPv3 needs username (the USM user)")
        level = opts.snmp_sec_level
        auth_key = secret() if level != "noAuthNoPriv" else None
        priv_key = secrets.secret(opts, "snmp_priv_passwd") if level == "authPriv" else None
        return h.UsmUserData(
            opts.username,
            authKey=auth_key,
            privKey=priv_key,
            authProtocol={"MD5": h.usmHMACMD5AuthProtocol, "SHA": h.usmHMACSHAAuthProtocol}[
                opts.snmp_auth_prot
            ],
            privProtocol={"DES": h.usmDESPrivProtocol, "AES": h.usmAesCfb128Protocol}[
                opts.snmp_priv_prot
            ],
        )

    def _request(self, command, oid, value=None, **kw):
        """Run one pysnmp command generator over a single numeric OID."""
        varbind = (self.types.ObjectName(oid), value if value is not None else self.types.Null(""))
        return command(
            self.engine,
            self.auth,
            self.transport,
            self.h.ContextData(),
            varbind,
            lookupMib=False,
            **kw,
        )

    def _check(self, error_indication, error_status, error_index, what, writing=False):
        if error_indication:
            text = str(error_indication)
            if any(w in text.lower() for w in ("digest", "unknown user", "decrypt", "auth")):
                raise FenceError("%s refused the SNMPv3 credentials: %s" % (self.where, text))
            raise Unreachable("%s: %s while %s (%s)" % (self.where, text, what, HINT))
        if error_status:
            status = error_status.prettyPrint()
            if status == "noSuchName":  # SNMPv1's answer for a missing object
                raise FenceError("%s has no %s" % (self.where, what))
            hint = " (is the community allowed to write?)" if writing else ""
            raise FenceError("%s refused %s: %s%s" % (self.where, what, status, hint))

    def outlets(self):
        found = []
        for result in self._request(self.h.nextCmd, OUTLET_NAME, lexicographicMode=False):
            self._check(*result[:3], what="listing outlets")
            for name, value in result[3]:
                found.append((str(name[-1]), str(value)))
        if not found:
            raise FenceError("%s lists no outlets (not an APC rack PDU?)" % self.where)
        return found

    def targets(self, plug):
        numbers = [p.strip() for p in plug.split(",")]
        if all(n.isdigit() for n in numbers):
            return [int(n) for n in numbers]
        return [int(number) for number, name in self.outlets() if name == plug]

    def get_power(self, target):
        what = "outlet %d state" % target
        result = next(self._request(self.h.getCmd, "%s.%d" % (OUTLET_STATE, target)))
        self._check(*result[:3], what=what)
        value = result[3][0][1]
        if not isinstance(value, self.types.Integer32):  # noSuchInstance and friends (v2c)
            raise FenceError("%s has no %s" % (self.where, what))
        if int(value) not in STATES:
            raise FenceError(
                "%s outlet %d is in state %d, neither on nor off" % (self.where, target, int(value))
            )
        return STATES[int(value)]

    def set_power(self, target, state):
        oid = "%s.%d" % (OUTLET_COMMAND, target)
        value = self.types.Integer32(COMMANDS[state])
        result = next(self._request(self.h.setCmd, oid, value))
        self._check(*result[:3], what="switching outlet %d %s" % (target, state), writing=True)

    def monitor(self):
        self.outlets()
