"""APC switched rack PDU outlets over SNMP v1, v2c or v3 (PowerNet-MIB rPDU) through pysnmp.

``plug`` is an outlet number, a comma-separated list of numbers, or an outlet
name; a name selects every outlet carrying it, so a host with two power
supplies on two outlets named after it is switched off as a whole.

Requests use numeric OIDs: no MIB is loaded or compiled. SNMP v1 and v2c go
through pysnmp's message-level API (v1arch: its PDUs and BER codec over one UDP
socket). Only SNMPv3 needs pysnmp's SNMP engine (USM keys, crypto): starting it,
and the MIB compiler pysnmp's high-level API sets up for every request, took
most of an ``off``.
"""

from xenha.deadline import Deadline
from xenha.fencing.device import OFF, ON, Device, FenceError, Unreachable

PORT = 161
RPDU = "1.3.6.1.4.1.318.1.1.12"
OUTLET_NAME = RPDU + ".3.5.1.1.2"  # rPDUOutletStatusOutletName
OUTLET_STATE = RPDU + ".3.5.1.1.4"  # rPDUOutletStatusOutletState: 1 on, 2 off
OUTLET_COMMAND = RPDU + ".3.3.1.1.4"  # rPDUOutletControlOutletCommand
STATES = {1: ON, 2: OFF}
COMMANDS = {ON: 1, OFF: 2}  # immediateOn, immediateOff
HINT = "device down, wrong address, or wrong community / SNMPv3 user"
TRIES = 3  # within login_timeout, so the retries end before the runner's alarm


def _oid(text):
    return tuple(int(part) for part in text.split("."))


class _CommunitySession:
    """SNMP v1/v2c requests: pysnmp's PDUs and BER codec over one UDP socket connected
    to the PDU (the kernel drops datagrams from anyone else), each request sent up to
    TRIES times and answered only by the response with its request-id."""

    def __init__(self, opts, community, where):
        import socket

        from pyasn1.codec.ber import decoder, encoder
        from pysnmp.proto import api

        self.where = where
        self.encoder, self.decoder = encoder, decoder
        self.api = api.protoModules[
            api.protoVersion1 if opts.snmp_version == "1" else api.protoVersion2c
        ]
        self.community = community
        self.wait = opts.login_timeout * 0.9 / TRIES
        try:
            family, kind, proto, _, self.address = socket.getaddrinfo(
                opts.ip, opts.ipport or PORT, 0, socket.SOCK_DGRAM
            )[0]
        except (OSError, UnicodeError) as e:
            raise Unreachable("%s: cannot resolve the address: %s" % (where, e)) from None
        self.sock = socket.socket(family, kind, proto)
        try:
            self.sock.connect(self.address)
        except OSError as e:
            self.sock.close()
            raise Unreachable("%s: %s" % (where, e)) from None

    def _exchange(self, pdu):
        """Send ``pdu``; return the response PDU that answers it, or raise Unreachable."""
        import socket

        from pyasn1.error import PyAsn1Error

        a = self.api
        message = a.Message()
        a.apiMessage.setDefaults(message)
        a.apiMessage.setCommunity(message, self.community)
        a.apiMessage.setPDU(message, pdu)
        wire = self.encoder.encode(message)
        request_id = a.apiPDU.getRequestID(pdu)
        for _ in range(TRIES):
            deadline = Deadline(self.wait)
            try:
                self.sock.send(wire)
            except OSError:  # e.g. the previous try's port unreachable, reported now
                deadline.sleep(self.wait)
                continue
            while True:
                left = deadline.left()
                if left <= 0:
                    break
                self.sock.settimeout(left)
                try:
                    data = self.sock.recv(65535)
                except socket.timeout:
                    break
                except OSError:  # port unreachable: no answer to this try
                    deadline.sleep(self.wait)
                    break
                try:
                    response = a.apiMessage.getPDU(
                        self.decoder.decode(data, asn1Spec=a.Message())[0]
                    )
                except PyAsn1Error:
                    continue  # not an SNMP message of this version: not our answer
                if a.apiPDU.getRequestID(response) == request_id:
                    return response
        raise Unreachable("%s: No SNMP response received before timeout" % self.where)

    def request(self, kind, oid, value=None):
        """(error status, [(oid, value)]) of one get/next/set request."""
        a = self.api
        pdu = {"get": a.GetRequestPDU, "next": a.GetNextRequestPDU, "set": a.SetRequestPDU}[kind]()
        a.apiPDU.setDefaults(pdu)
        a.apiPDU.setVarBinds(pdu, [(oid, a.Null("") if value is None else a.Integer(value))])
        response = self._exchange(pdu)
        return a.apiPDU.getErrorStatus(response), a.apiPDU.getVarBinds(response)

    def close(self):
        self.sock.close()


class _UsmSession:
    """SNMPv3 requests through pysnmp's engine: USM user ``username``, authentication
    key = the password, privacy key its own."""

    def __init__(self, opts, secret, where):
        from pysnmp import hlapi

        h = self.h = hlapi
        self.where = where
        if not opts.username:
            raise FenceError("SNMPv3 needs username (the USM user)")
        level = opts.snmp_sec_level
        auth_key = secret() if level != "noAuthNoPriv" else None
        priv_key = opts.secret("snmp_priv_passwd") if level == "authPriv" else None
        self.user = h.UsmUserData(
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
        self.engine = h.SnmpEngine()
        self.transport = h.UdpTransportTarget(
            (opts.ip, opts.ipport or PORT),
            timeout=opts.login_timeout * 0.9 / TRIES,
            retries=TRIES - 1,
        )

    def request(self, kind, oid, value=None):
        from pysnmp.proto import rfc1902

        h = self.h
        command = {"get": h.getCmd, "next": h.nextCmd, "set": h.setCmd}[kind]
        varbind = (
            rfc1902.ObjectName(oid),
            rfc1902.Null("") if value is None else rfc1902.Integer32(value),
        )
        error, status, _, varbinds = next(
            command(
                self.engine, self.user, self.transport, h.ContextData(), varbind, lookupMib=False
            )
        )
        if error:
            text = str(error)
            if any(w in text.lower() for w in ("digest", "unknown user", "decrypt", "auth")):
                raise FenceError("%s refused the SNMPv3 credentials: %s" % (self.where, text))
            raise Unreachable("%s: %s" % (self.where, text))
        return status, [tuple(vb) for vb in varbinds]

    def close(self):
        pass


class ApcSnmpDevice(Device):
    plug_lists = True
    can_list = True
    needs_secret = False  # the community may come inline, from password_file or its default
    unreachable_hint = HINT

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        self.where = "PDU %s:%s" % (opts.ip, opts.ipport or PORT)
        if opts.snmp_version == "3":
            self.session = _UsmSession(opts, secret, self.where)
        else:
            community = opts.community if opts.given("community") else None
            if community is None and (opts.password_file or opts.password_script):
                community = secret()
            self.session = _CommunitySession(opts, community or opts.community, self.where)

    def _ask(self, kind, oid, what, value=None):
        """(error status, varbinds) of one request; no answer names what it was for."""
        try:
            return self.session.request(kind, _oid(oid), value)
        except Unreachable as e:
            raise Unreachable("%s while %s (%s)" % (e, what, HINT)) from None

    def _check(self, status, what, writing=False):
        if status:
            text = status.prettyPrint()
            if text == "noSuchName":  # SNMPv1's answer for a missing object
                raise FenceError("%s has no %s" % (self.where, what))
            hint = " (is the community allowed to write?)" if writing else ""
            raise FenceError("%s refused %s: %s%s" % (self.where, what, text, hint))

    def outlets(self):
        from pyasn1.type import univ

        prefix, oid, found = _oid(OUTLET_NAME), OUTLET_NAME, []
        while True:
            status, varbinds = self._ask("next", oid, "listing outlets")
            if status and status.prettyPrint() == "noSuchName":
                break  # SNMPv1: nothing follows
            self._check(status, "listing outlets")
            name, value = varbinds[0]
            name = tuple(name)
            if name[: len(prefix)] != prefix or isinstance(value, univ.Null):
                break  # past the outlet names, or v2c's endOfMibView
            if name <= _oid(oid):
                raise FenceError("%s answered a walk with a non-increasing OID" % self.where)
            found.append((str(name[-1]), str(value)))
            oid = ".".join(map(str, name))
        if not found:
            raise FenceError("%s lists no outlets (not an APC rack PDU?)" % self.where)
        return found

    def targets(self, plug):
        separator = self.opts.plug_separator
        numbers = [p.strip() for p in (plug.split(separator) if separator else [plug])]
        if all(n.isdigit() for n in numbers):
            return [int(n) for n in numbers]
        return [int(number) for number, name in self.outlets() if name == plug]

    def get_power(self, target):
        from pyasn1.type import univ

        what = "outlet %d state" % target
        status, varbinds = self._ask("get", "%s.%d" % (OUTLET_STATE, target), what)
        self._check(status, what)
        value = varbinds[0][1]
        if not isinstance(value, univ.Integer):  # noSuchInstance and friends (v2c)
            raise FenceError("%s has no %s" % (self.where, what))
        if int(value) not in STATES:
            raise FenceError(
                "%s outlet %d is in state %d, neither on nor off" % (self.where, target, int(value))
            )
        return STATES[int(value)]

    def set_power(self, target, state):
        what = "switching outlet %d %s" % (target, state)
        status, _ = self._ask("set", "%s.%d" % (OUTLET_COMMAND, target), what, COMMANDS[state])
        self._check(status, what, writing=True)

    def monitor(self):
        self.outlets()

    def close(self):
        self.session.close()
