"""fence_xenha_apc's SNMP v1/v2c requests against a scripted UDP responder: only the
response carrying the request's id counts, and silence is "cannot tell", never OFF.

(The agent against a real net-snmp agent, v1, v2c and v3: tests/agents/test_fence_apc.py.)
"""

import socket
import threading
import time

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from stonith_plugins.fence_xenha_apc import AGENT
from xenha.fencing.apc_snmp import ApcSnmpDevice
from xenha.fencing.device import ON, Unreachable
from xenha.fencing.options import parse_stdin

V2C = api.protoModules[api.protoVersion2c]


class Responder:
    """Answers each GET first with a stale response (another request-id, OFF), then,
    if ``answer`` is set, with the real one (ON)."""

    def __init__(self, answer=True):
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def reply(self, request, address, request_id, state):
        pdu = V2C.apiPDU.getResponse(V2C.apiMessage.getPDU(request))
        V2C.apiPDU.setRequestID(pdu, request_id)
        oid = V2C.apiPDU.getVarBinds(V2C.apiMessage.getPDU(request))[0][0]
        V2C.apiPDU.setVarBinds(pdu, [(oid, V2C.Integer(state))])
        message = V2C.Message()
        V2C.apiMessage.setDefaults(message)
        V2C.apiMessage.setCommunity(message, "private")
        V2C.apiMessage.setPDU(message, pdu)
        self.sock.sendto(encoder.encode(message), address)

    def serve(self):
        while not self.stop:
            try:
                data, address = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.requests += 1
            request = decoder.decode(data, asn1Spec=V2C.Message())[0]
            request_id = int(V2C.apiPDU.getRequestID(V2C.apiMessage.getPDU(request)))
            self.sock.sendto(b"not snmp", address)
            self.reply(request, address, request_id + 1, 2)  # stale: says OFF
            if self.answer:
                self.reply(request, address, request_id, 1)

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def responder(request):
    r = Responder(answer=request.param)
    yield r
    r.close()


def device(port, login_timeout=1):
    text = "ip=127.0.0.1\nipport=%d\ncommunity=private\nsnmp_version=2c\nlogin_timeout=%s\n"
    return ApcSnmpDevice(parse_stdin(AGENT.options, text % (port, login_timeout)), None)


@pytest.mark.parametrize("responder", [True], indirect=True)
def test_only_the_answer_to_this_request_counts(responder):
    d = device(responder.port)
    try:
        assert d.get_power(3) == ON
    finally:
        d.close()
    assert responder.requests == 1


@pytest.mark.parametrize("responder", [False], indirect=True)
def test_no_answer_is_unreachable_after_retries_within_login_timeout(responder):
    d = device(responder.port, login_timeout=0.6)
    started = time.monotonic()
    try:
        with pytest.raises(Unreachable, match="outlet 3 state"):
            d.get_power(3)
    finally:
        d.close()
    assert time.monotonic() - started < 0.6
    assert responder.requests == 3  # each try was answered only by a stale OFF: not taken
