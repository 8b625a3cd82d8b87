"""RMCP+ cipher suites 17 and 3 for pyghmi's BMC server, as iLO 5, iDRAC 9 and iRMC S5
offer them. Section and table numbers are those of the IPMI v2.0 specification, rev. 1.1,
whose table 22-20 has the SHA-256 suites (15-19) that Errata 4 added.

How far pyghmi 1.6's server goes (``pyghmi.ipmi.private.serversession``): its Open
Session Response always names suite 3, its RAKP handshake hard-codes HMAC-SHA1, and its
Get Channel Cipher Suites answer lists suite 3 alone. Its packet layer, shared with the
client (``Session.send_payload``, ``Session._handle_ipmi2_packet``), signs and checks
every session packet with the session's ``currhashlib``/``currhashlen`` and encrypts with
AES-CBC-128 keyed from K2 whatever the hash. So suite 17 needs a new handshake only:
``SuiteSession`` replaces the open session response and the RAKP message handlers, and
``SuiteListing`` the cipher suite list. Both are used by ``ipmi_bmc``.
"""

import dataclasses
import hashlib
import hmac
import os
import struct

import pyghmi.ipmi.private.constants as constants
import pyghmi.ipmi.private.serversession as serversession
import pyghmi.ipmi.private.session as ipmisession

# RMCP+ and RAKP message status codes (section 13, as in pyghmi's constants.rmcp_codes)
INVALID_SESSION_ID = 0x02
UNAUTHORIZED_NAME = 0x0D
INVALID_INTEGRITY_CHECK_VALUE = 0x0F
NO_CIPHER_SUITE_MATCH = 0x11
APP, GET_CHANNEL_CIPHER_SUITES = 0x06, 0x54  # network function and command (22.15)
ADMINISTRATOR = 4  # the privilege level the one lab user gets


@dataclasses.dataclass(frozen=True)
class Suite:
    """A cipher suite (table 22-20): its algorithm numbers (tables 13-17, 13-18, 13-19),
    the hash of its RAKP and integrity HMACs and the length its integrity check values
    are truncated to (HMAC-SHA1-96: 12 bytes, HMAC-SHA256-128: 16)."""

    id: int
    auth: int
    integrity: int
    confidentiality: int
    hash: object
    icv_length: int

    def hmac(self, key, *parts):
        return hmac.new(key, b"".join(bytes(p) for p in parts), self.hash).digest()

    def record(self):
        """Its Cipher Suite Record (table 22-19): start of a standard record (C0h), the
        suite ID, then each algorithm number tagged as auth (00b), integrity (01b) and
        confidentiality (10b) in bits 7:6."""
        return bytes([0xC0, self.id, self.auth, 0x40 | self.integrity, 0x80 | self.confidentiality])


# Best first: a proposal that leaves the choice to the BMC gets suite 17.
SUITE_17 = Suite(17, 3, 4, 1, hashlib.sha256, 16)  # RAKP-HMAC-SHA256, HMAC-SHA256-128, AES
SUITE_3 = Suite(3, 1, 1, 1, hashlib.sha1, 12)  # RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128
SUITES = (SUITE_17, SUITE_3)


def choose(request, suites):
    """The suite matching an RMCP+ Open Session Request (13.17), or None. Each of its
    three algorithm payloads (bytes 9-16, 17-24, 25-32: type, 2 reserved, length, number)
    either names an algorithm or, with length 0, lets the BMC pick."""
    proposed = []
    for offset in (8, 16, 24):
        payload = request[offset : offset + 8]
        if len(payload) < 5:
            return None
        proposed.append(payload[4] if payload[3] else None)
    for suite in suites:
        wanted = (suite.auth, suite.integrity, suite.confidentiality)
        if all(p is None or p == w for p, w in zip(proposed, wanted)):
            return suite
    return None


class SuiteSession(serversession.ServerSession):
    """An RMCP+ session on the BMC's side that negotiates its cipher suite.

    It offers its BMC's ``suites`` (``SuiteListing``). The messages follow 13.17-13.18
    (open session) and 13.20-13.23 (RAKP 1-4), the session integrity key (SIK) 13.31,
    K1 and K2 13.32; the AES-CBC-128 payloads of 13.29 take K2's first 16 bytes as key.
    Attributes that pyghmi's packet layer reads (``k1``, ``aeskey``, ``currhashlib``,
    ``currhashlen``, ``localsid``, ``sessionid``, ``integrityalgo``, ``confalgo``) keep
    its names.
    """

    def create_open_session_response(self, request):
        """RMCP+ Open Session Response (13.18): the chosen algorithms, or status 11h."""
        request = bytearray(request)
        self.clientsessionid = request[4:8]
        self.suite = choose(request, self.bmc.suites)
        if self.suite is None:
            return bytearray([request[0], NO_CIPHER_SUITE_MATCH, 0, 0]) + self.clientsessionid
        self.currhashlib, self.currhashlen = self.suite.hash, self.suite.icv_length
        self.managedsessionid = os.urandom(4)
        self.privlevel = ADMINISTRATOR
        algorithms = bytearray()
        for kind, number in enumerate((self.suite.auth, self.suite.integrity)):
            algorithms += bytes([kind, 0, 0, 8, number, 0, 0, 0])
        algorithms += bytes([2, 0, 0, 8, self.suite.confidentiality, 0, 0, 0])
        head = bytearray([request[0], 0, self.privlevel, 0])
        return head + self.clientsessionid + self.managedsessionid + algorithms

    def _got_rakp1(self, data):
        """RAKP Message 1 (13.20) -> RAKP Message 2 (13.21), whose key exchange
        authentication code is the full HMAC of the suite's hash keyed by the password."""
        if getattr(self, "suite", None) is None or len(data) < 28:
            return
        tag = data[0]
        if bytes(data[4:8]) != bytes(self.managedsessionid):
            self._send_rakp(constants.payload_types["rakp2"], tag, INVALID_SESSION_ID)
            return
        self.Rm = bytes(data[8:24])
        self.rolem = data[24]
        self.maxpriv = self.rolem & 0b111
        self.username = bytes(data[28 : 28 + data[27]])
        password = self.authdata.get(self.username.decode("utf-8", "replace"))
        if not self.username or password is None:
            self._send_rakp(constants.payload_types["rakp2"], tag, UNAUTHORIZED_NAME)
            return
        self.kuid = password.encode("utf-8")
        if self.kg is None:  # no BMC key set: Kg is the user's key (13.31)
            self.kg = self.kuid
        self.Rc = os.urandom(16)
        self.uuiddata = self.uuid.bytes
        authcode = self.suite.hmac(
            self.kuid,
            self.clientsessionid,
            self.managedsessionid,
            self.Rm,
            self.Rc,
            self.uuiddata,
            self._role_and_name(),
        )
        body = self.Rc + self.uuiddata + authcode
        self._send_rakp(constants.payload_types["rakp2"], tag, 0, self.clientsessionid + body)

    def _got_rakp3(self, data):
        """RAKP Message 3 (13.22): check the console's authentication code, derive the
        session keys, answer RAKP Message 4 (13.23) whose integrity check value is the
        SIK's HMAC truncated as the suite's integrity algorithm truncates."""
        if not hasattr(self, "Rc") or len(data) < 8:
            return
        tag = data[0]
        if data[1] != 0:  # the console refused our RAKP 2
            return
        expected = self.suite.hmac(self.kuid, self.Rc, self.clientsessionid, self._role_and_name())
        if not hmac.compare_digest(bytes(data[8:]), expected):
            self._send_rakp(constants.payload_types["rakp4"], tag, INVALID_INTEGRITY_CHECK_VALUE)
            return
        self.sik = self.suite.hmac(self.kg, self.Rm, self.Rc, self._role_and_name())
        self.k1 = self.suite.hmac(self.sik, b"\x01" * 20)
        self.k2 = self.suite.hmac(self.sik, b"\x02" * 20)
        self.aeskey = self.k2[:16]
        icv = self.suite.hmac(self.sik, self.Rm, self.managedsessionid, self.uuiddata)
        self._send_rakp(
            constants.payload_types["rakp4"],
            tag,
            0,
            self.clientsessionid + icv[: self.suite.icv_length],
        )
        # From here on pyghmi's packet layer signs, checks and encrypts with this suite.
        self.localsid = struct.unpack("<I", bytes(self.managedsessionid))[0]
        self.sessionid = struct.unpack("<I", bytes(self.clientsessionid))[0]
        self.integrityalgo = self.suite.integrity
        self.confalgo = "aes"
        self.sequencenumber = 1
        self.ipmicallback = self.handle_client_request

    def _role_and_name(self):
        return bytes([self.rolem, len(self.username)]) + self.username

    def _send_rakp(self, payload_type, tag, status, body=b""):
        """A RAKP message: tag, status, two reserved bytes; on an error nothing more
        (the console's session ID only where the message carries it)."""
        message = bytearray([tag, status, 0, 0])
        if status == 0:
            message += body
        elif hasattr(self, "clientsessionid"):
            message += self.clientsessionid
        self.send_payload(message, payload_type, retry=False)


class SuiteListing:
    """A mixin for pyghmi's ``IpmiServer``: its sessions negotiate among ``suites``, and
    Get Channel Cipher Suites (22.15) lists them, so that ``ipmitool`` without ``-C``
    picks the best one."""

    suites = SUITES

    def cipher_suite_records(self, request_data):
        """Get Channel Cipher Suites' answer after the completion code: the channel, then
        16 bytes of records from list index (request byte 3, bits 5:0) times 16; a console
        asks for the next index until it gets fewer. Records are always by cipher suite,
        the way every console asks (bit 7 set)."""
        index = request_data[2] & 0x3F if len(request_data) > 2 else 0
        records = b"".join(suite.record() for suite in self.suites)
        return bytes([1]) + records[16 * index : 16 * (index + 1)]

    def send_cipher_suites(self, myaddr, mylun, clientaddr, clientlun, clientseq, data, sockaddr):
        """Outside a session, as a console asks before it logs in."""
        answer = bytes([0]) + self.cipher_suite_records(data[20:])
        address = (myaddr, mylun, clientaddr, clientlun, clientseq)
        self._send_sessionless(sockaddr, address, GET_CHANNEL_CIPHER_SUITES, answer)

    def handle_raw_request(self, request, session):
        """Inside a session, as ``ipmitool channel getciphers`` asks."""
        if (request["netfn"], request["command"]) == (APP, GET_CHANNEL_CIPHER_SUITES):
            session.send_ipmi_response(data=list(self.cipher_suite_records(request["data"])))
        else:
            super().handle_raw_request(request, session)

    def _send_sessionless(self, sockaddr, address, command, data):
        """An IPMI response outside any session: RMCP header, an RMCP+ session header with
        session ID and sequence number 0, then the IPMI message with its two checksums."""
        myaddr, mylun, clientaddr, clientlun, clientseq = address
        header = bytes([clientaddr, 0x07 << 2 | clientlun])  # netFn 7: application response
        body = bytes([myaddr, clientseq << 2 | mylun, command]) + data
        message = header + bytes([ipmisession._checksum(*header)])
        message += body + bytes([ipmisession._checksum(*body)])
        packet = bytearray(b"\x06\x00\xff\x07\x06\x00" + b"\x00" * 8)
        packet += struct.pack("<H", len(message)) + message
        ipmisession._io_sendto(self.serversocket, packet, sockaddr)


def use_suites():
    """Make pyghmi's server start each session as a ``SuiteSession``. ``sessionless_data``
    starts a session on an Open Session Request by the module-level name
    ``ServerSession``, the only place to hook it without copying that method."""
    serversession.ServerSession = SuiteSession
