"""The lab BMC's RMCP+ handshake (xenha.lab.power.rmcp_suites) message by message, where
ipmitool, ipmipower and pyghmi never go: proposals leaving the choice to the BMC, a RAKP 3
with a wrong authentication code, the cipher suite list page by page. The keys are
recomputed here from the IPMI 2.0 formulas (13.31, 13.32), independently of the module."""

import hashlib
import hmac
import uuid

import pytest

from xenha.lab.power import rmcp_suites as rs

PASSWORD = b"lab-secret"
CONSOLE_SID = b"\xa1\xa2\xa3\xa4"


def proposal(auth, integrity, confidentiality):
    """An Open Session Request (13.17); None leaves that algorithm to the BMC (length 0)."""
    request = bytearray([7, 0, 0, 0]) + CONSOLE_SID
    for kind, number in enumerate((auth, integrity, confidentiality)):
        if number is None:
            request += bytes([kind, 0, 0, 0, 0, 0, 0, 0])
        else:
            request += bytes([kind, 0, 0, 8, number, 0, 0, 0])
    return request


@pytest.mark.parametrize(
    "algorithms, suite",
    [
        ((3, 4, 1), 17),
        ((1, 1, 1), 3),
        ((None, None, None), 17),  # the BMC's best
        ((1, None, None), 3),
        ((3, 1, 1), None),  # SHA-256 authentication with SHA-1 integrity: no such suite
        ((1, 0, 0), None),  # suite 1
    ],
)
def test_choose(algorithms, suite):
    chosen = rs.choose(proposal(*algorithms), rs.SUITES)
    assert (chosen.id if chosen else None) == suite


class Bmc:
    suites = rs.SUITES


def session():
    """A SuiteSession without socket: what it would send is appended to ``sent``."""
    s = object.__new__(rs.SuiteSession)
    s.bmc, s.authdata, s.kg, s.uuid = Bmc(), {"admin": PASSWORD.decode()}, None, uuid.uuid4()
    s.sent = []
    s.send_payload = lambda message, payload_type, retry: s.sent.append((payload_type, message))
    return s


def open_and_rakp1(s, algorithms, user=b"admin", rm=b"R" * 16, role=0x14):
    response = s.create_open_session_response(proposal(*algorithms))
    managed_sid = bytes(response[8:12])
    rakp1 = bytearray([8, 0, 0, 0]) + managed_sid + rm + bytes([role, 0, 0, len(user)]) + user
    s._got_rakp1(rakp1)
    return response, managed_sid


@pytest.mark.parametrize("suite", rs.SUITES, ids=lambda suite: "suite%d" % suite.id)
def test_handshake_keys_follow_the_suite(suite):
    s, rm, role, user = session(), b"R" * 16, 0x14, b"admin"
    response, managed_sid = open_and_rakp1(s, (suite.auth, suite.integrity, 1))
    assert response[1] == 0
    assert [response[at] for at in (16, 24, 32)] == [suite.auth, suite.integrity, 1]
    payload_type, rakp2 = s.sent[-1]
    assert (payload_type, rakp2[1]) == (0x13, 0)
    rc, guid, authcode = rakp2[8:24], rakp2[24:40], bytes(rakp2[40:])
    name = bytes([role, len(user)]) + user
    signed = CONSOLE_SID + managed_sid + rm + bytes(rc) + bytes(guid) + name
    assert authcode == hmac.new(PASSWORD, signed, suite.hash).digest()

    rakp3 = hmac.new(PASSWORD, bytes(rc) + CONSOLE_SID + name, suite.hash).digest()
    s._got_rakp3(bytearray([9, 0, 0, 0]) + managed_sid + rakp3)
    payload_type, rakp4 = s.sent[-1]
    assert (payload_type, rakp4[1]) == (0x15, 0)
    sik = hmac.new(PASSWORD, rm + bytes(rc) + name, suite.hash).digest()
    icv = hmac.new(sik, rm + managed_sid + bytes(guid), suite.hash).digest()
    assert bytes(rakp4[8:]) == icv[: suite.icv_length]
    assert len(bytes(rakp4[8:])) == {hashlib.sha1: 12, hashlib.sha256: 16}[suite.hash]
    k2 = hmac.new(sik, b"\x02" * 20, suite.hash).digest()
    assert (s.k1, s.aeskey) == (hmac.new(sik, b"\x01" * 20, suite.hash).digest(), k2[:16])
    assert (s.currhashlib, s.currhashlen) == (suite.hash, suite.icv_length)


def test_wrong_rakp3_code_gets_invalid_integrity_check_value():
    s = session()
    _, managed_sid = open_and_rakp1(s, (3, 4, 1))
    s._got_rakp3(bytearray([9, 0, 0, 0]) + managed_sid + b"\x00" * 32)
    payload_type, rakp4 = s.sent[-1]
    assert (payload_type, bytes(rakp4)) == (0x15, bytes([9, 0x0F, 0, 0]) + CONSOLE_SID)
    assert not hasattr(s, "k1")  # no session keys: nothing after this is accepted


def test_unknown_user_and_stale_session_id_are_refused_in_rakp2():
    s = session()
    open_and_rakp1(s, (3, 4, 1), user=b"nobody")
    assert s.sent[-1] == (0x13, bytearray([8, 0x0D, 0, 0]) + CONSOLE_SID)
    s._got_rakp1(
        bytearray([8, 0, 0, 0]) + b"\x00" * 4 + b"R" * 16 + bytes([0x14, 0, 0, 5]) + b"admin"
    )
    assert s.sent[-1] == (0x13, bytearray([8, 0x02, 0, 0]) + CONSOLE_SID)


def test_unoffered_proposal_gets_no_cipher_suite_match():
    response = session().create_open_session_response(proposal(1, 0, 0))
    assert bytes(response) == bytes([7, 0x11, 0, 0]) + CONSOLE_SID


def test_cipher_suite_list_pages_of_16_bytes():
    class Many(rs.SuiteListing):
        suites = rs.SUITES * 2  # 20 bytes of records: two pages

    records = b"".join(suite.record() for suite in rs.SUITES)
    assert records == bytes([0xC0, 17, 3, 0x44, 0x81, 0xC0, 3, 1, 0x41, 0x81])
    first, second = (Many().cipher_suite_records([1, 0, 0x80 | i]) for i in (0, 1))
    assert (first, second) == (b"\x01" + (records * 2)[:16], b"\x01" + (records * 2)[16:])
    assert Many().cipher_suite_records([1, 0, 0x82]) == b"\x01"
