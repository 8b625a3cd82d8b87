"""The simulator's bytes on the wire, as xapi writes them (xenha/lab/pool/wire.py says
where each rule comes from): read raw, over every transport."""

import http.client
import json
import socket
import ssl
import urllib.parse
import xml.etree.ElementTree as ET
import xmlrpc.client

import pytest

from tests.unit.test_lab_pool_windows import QUICK, wait_for
from xenha.lab.pool.testing import running_pool
from xenha.lab.pool.wire import Response, XmlRpc


@pytest.fixture(scope="module")
def sim():
    with running_pool(hosts=2, vms=1, https=True, sockets=True) as s:
        yield s


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def connection(sim, host, transport):
    """An HTTP connection to ``host``'s endpoint: "http", "https" or "socket"."""
    if transport == "socket":
        return UnixHTTPConnection(host.socket)
    url = urllib.parse.urlsplit(host.https_url if transport == "https" else host.url)
    if transport == "https":
        context = ssl.create_default_context(cafile=sim.ca_file)
        return http.client.HTTPSConnection(url.hostname, url.port, timeout=10, context=context)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=10)


def post(sim, body, path="/", transport="http", host=None, content_type="text/xml"):
    """POST ``body``; return (status, Content-Type, body, whether the server closed)."""
    conn = connection(sim, host or sim.master, transport)
    try:
        conn.request("POST", path, body, {"Content-Type": content_type})
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type"), r.read(), r.will_close
    finally:
        conn.close()


def xml_call(sim, method, *params, **kw):
    """The raw XML-RPC answer to a call (the request as Python's SDK writes it)."""
    status, ctype, body, _ = post(sim, xmlrpc.client.dumps(params, method), **kw)
    assert (status, ctype) == (200, "text/xml")
    return body


def strict(body):
    """Parse with xml.etree; fail on any text between tags (whitespace included)."""
    root = ET.fromstring(body)
    for el in root.iter():
        if len(el):
            assert el.text is None, "text inside <%s>: %r" % (el.tag, el.text)
        for child in el:
            assert child.tail is None, "text after <%s>: %r" % (child.tag, child.tail)
    return root


def xml_login(sim, **kw):
    body = xml_call(sim, "session.login_with_password", sim.user, sim.password(), **kw)
    return xmlrpc.client.loads(body)[0][0]["Value"]


@pytest.mark.parametrize("transport", ["http", "https", "socket"])
def test_xml_rpc_is_compact_with_bare_strings(sim, transport):
    session = xml_login(sim, transport=transport)
    body = xml_call(sim, "VM.get_all_records", session, transport=transport)
    assert body.startswith(b'<?xml version="1.0"?><methodResponse><params><param><value>')
    root = strict(body)
    assert root.find(".//string") is None  # xapi writes <value>text</value>
    status = root.find("./params/param/value/struct/member")
    assert ET.tostring(status) == b"<member><name>Status</name><value>Success</value></member>"
    # int64 fields are bare digits too (rpclib's Int, not strict); booleans are tagged
    assert root.find(".//member[name='domid']/value").text.lstrip("-").isdigit()
    assert root.find(".//member[name='is_a_template']/value/boolean") is not None


def test_xml_rpc_errors_are_status_structs(sim):
    body = xml_call(sim, "VM.get_power_state", xml_login(sim), "OpaqueRef:nope")
    root = strict(body)
    error = root.find(".//member[name='ErrorDescription']/value/array/data")
    assert [v.text for v in error] == ["HANDLE_INVALID", "VM", "OpaqueRef:nope"]


def test_an_int64_is_set_from_digits_or_a_number_and_read_as_digits(sim):
    session = xml_login(sim)
    vm = xmlrpc.client.loads(xml_call(sim, "VM.get_by_uuid", session, sim.vms[0]))[0][0]["Value"]
    for sent in ("3", 4):  # the SDKs send digits; <int> is what Python makes of a number
        xml_call(sim, "VM.set_order", session, vm, sent)
        body = xml_call(sim, "VM.get_order", session, vm)
        assert b"<name>Value</name><value>%d</value>" % int(sent) in body
    body = xml_call(sim, "VM.set_order", session, vm, "three")
    assert xmlrpc.client.loads(body)[0][0]["ErrorDescription"] == ["FIELD_TYPE_ERROR", "order"]


def test_xml_rpc_escapes_markup_and_drops_control_characters():
    body = XmlRpc().answer(Response(True, {"k&": 'a<b>&"c"\x01\td\n'}))
    assert b"<name>k&amp;</name><value>a&lt;b&gt;&amp;&quot;c&quot;\td\n</value>" in body
    assert strict(body).find(".//member[name='k&']/value").text == 'a<b>&"c"\td\n'


def test_an_unparsable_body_is_http_500_and_the_connection_closes(sim):
    status, ctype, body, closed = post(sim, b"<methodCall><oops")
    assert (status, ctype, closed) == (500, "text/html", True)
    assert b"500" in body


def test_system_list_methods_is_answered_bare_with_every_call_served(sim):
    """gen_server.ml: the synchronous names, no session needed; api_server.ml writes
    the XML-RPC answer without the Status struct."""
    body = xml_call(sim, "system.listMethods")
    assert body.startswith(b'<?xml version="1.0"?><methodResponse><params><param><value><array>')
    names = xmlrpc.client.loads(body)[0][0]
    assert {"session.login_with_password", "VM.start", "host.get_all_records"} <= set(names)
    assert not [n for n in names if n.startswith(("Async.", "system."))]
    assert json.loads(json_call(sim, "system.listMethods"))["result"] == names
    for name in names:  # each is served: wrong arity, never an unknown method
        answer = json.loads(json_call(sim, name))["error"]["message"]
        assert answer == "MESSAGE_PARAMETER_COUNT_MISMATCH", name


# -- JSON-RPC -------------------------------------------------------------------------


def json_call(sim, method, *params, version="2.0", id=1, **kw):
    """The raw JSON-RPC answer (bytes) to a call on /jsonrpc."""
    request = {"method": method, "params": list(params), "id": id}
    if version == "2.0":
        request["jsonrpc"] = "2.0"
    kw.setdefault("path", "/jsonrpc")
    status, ctype, body, _ = post(sim, json.dumps(request), content_type="application/json", **kw)
    assert (status, ctype) == (200, "application/json")
    return body


def json_login(sim, **kw):
    return json.loads(
        json_call(sim, "session.login_with_password", sim.user, sim.password(), **kw)
    )["result"]


@pytest.mark.parametrize("transport", ["http", "https", "socket"])
def test_json_rpc_2_answers_compact_with_the_id_echoed(sim, transport):
    body = json_call(
        sim, "session.login_with_password", sim.user, sim.password(), id="a", transport=transport
    )
    session = json.loads(body)["result"]
    assert session.startswith("OpaqueRef:")
    assert body == b'{"jsonrpc":"2.0","result":"%s","id":"a"}' % session.encode()
    vms = json.loads(json_call(sim, "VM.get_all_records", session, transport=transport))["result"]
    dom0 = next(r for r in vms.values() if r["is_control_domain"])
    assert dom0["domid"] == 0 and isinstance(dom0["memory_static_max"], int)  # int64: numbers


def test_json_rpc_1_answers_result_and_error_with_a_null(sim):
    body = json_call(
        sim, "session.login_with_password", sim.user, sim.password(), version="1.0", id=7
    )
    assert json.loads(body) == {"result": json.loads(body)["result"], "error": None, "id": 7}
    assert body.startswith(b'{"result":"OpaqueRef:')
    body = json_call(sim, "VM.get_power_state", json_login(sim), "OpaqueRef:nope", version="1.0")
    assert body == b'{"result":null,"error":["HANDLE_INVALID","VM","OpaqueRef:nope"],"id":1}'


def test_json_rpc_2_errors_are_error_objects_with_the_parameters_as_data(sim):
    body = json_call(sim, "VM.get_power_state", json_login(sim), "OpaqueRef:nope")
    assert body == (
        b'{"jsonrpc":"2.0","error":{"code":1,"message":"HANDLE_INVALID",'
        b'"data":["VM","OpaqueRef:nope"]},"id":1}'
    )
    slave = sim.slaves[0]
    answer = json.loads(
        json_call(sim, "session.login_with_password", sim.user, sim.password(), host=slave)
    )
    assert answer["error"] == {"code": 1, "message": "HOST_IS_SLAVE", "data": [sim.master.address]}


def test_a_call_a_slave_passes_to_its_master_fails_with_the_masters_json_rpc_1_list(sim):
    """api_server.ml forward: the slave asks its master in JSON-RPC 1.0 and returns the
    master's answer untranslated, inside its own 2.0 response."""
    body = json_call(
        sim, "VM.get_power_state", json_login(sim), "OpaqueRef:nope", host=sim.slaves[0], id=5
    )
    assert body == b'{"jsonrpc":"2.0","error":["HANDLE_INVALID","VM","OpaqueRef:nope"],"id":5}'


def test_json_rpc_carries_what_xml_rpc_carries(sim):
    """Parameters come as JSON values: numbers for int64, objects for maps."""
    session = json_login(sim)
    vm = json.loads(json_call(sim, "VM.get_by_uuid", session, sim.vms[0]))["result"]
    json_call(sim, "VM.set_order", session, vm, 5)
    json_call(sim, "VM.add_to_other_config", session, vm, "k", "v")
    record = xmlrpc.client.loads(xml_call(sim, "VM.get_record", xml_login(sim), vm))[0][0]["Value"]
    assert (record["order"], record["other_config"]["k"]) == ("5", "v")


@pytest.mark.parametrize(
    "path, body",
    [
        ("/", {"jsonrpc": "2.0", "method": "pool.get_all", "params": [], "id": 1}),  # XML-RPC
        ("/jsonrpc", {"jsonrpc": "2.0", "method": "pool.get_all", "params": []}),  # no id
        ("/jsonrpc", {"jsonrpc": "1.0", "method": "pool.get_all", "params": [], "id": 1}),
        ("/jsonrpc", {"method": "pool.get_all", "id": 1}),  # 1.0 needs params
        ("/jsonrpc", "not an object"),
    ],
)
def test_json_rpc_requests_xapi_cannot_parse_are_http_500(sim, path, body):
    status, ctype, _, closed = post(
        sim, json.dumps(body), path=path, content_type="application/json"
    )
    assert (status, ctype, closed) == (500, "text/html", True)


def test_any_path_but_jsonrpc_is_xml_rpc(sim):
    for path in ("/RPC2", "/json", "/xmlrpc"):
        assert xmlrpc.client.loads(xml_call(sim, "pool.get_all", xml_login(sim), path=path))
    body = json_call(sim, "pool.get_all", json_login(sim), path="/jsonrpc?x=1")
    assert json.loads(body)["result"]


def list_methods(sim, host):
    """(Access-Control-Allow-Origin, answer) of system.listMethods over XML-RPC."""
    conn = connection(sim, host, "http")
    try:
        conn.request("POST", "/", xmlrpc.client.dumps((), "system.listMethods"))
        r = conn.getresponse()
        return r.getheader("Access-Control-Allow-Origin"), xmlrpc.client.loads(r.read())[0][0]
    finally:
        conn.close()


def test_a_call_refused_in_emergency_mode_is_json_rpc_2_with_id_0_and_the_list():
    """api_server.ml: callback1 raises the emergency mode's error before any dispatch,
    and jsoncallback's handler answers it itself (version 2.0, its default id 0, no
    CORS headers) whatever the request was; over XML-RPC it is the usual struct."""
    with running_pool(hosts=2, vms=1, knobs=dict(QUICK, hello_retry=0.2)) as sim:
        slave = sim.slaves[0]
        assert list_methods(sim, slave)[0] == "*"
        sim.isolate(sim.master.name, True)
        sim.toolstack_restart(slave.name, 0)
        wait_for(lambda: sim.xapi_state(slave.name)["emergency"], 3, "emergency mode")
        cors, answer = list_methods(sim, slave)
        assert cors is None and answer["Status"] == "Failure"  # a struct, not the bare list
        error = answer["ErrorDescription"]
        assert error[0] == "INTERNAL_ERROR"  # what its Pool.hello ended in: no master
        body = json_call(sim, "pool.get_all", "OpaqueRef:x", version="1.0", id=9, host=slave)
        listed = json.dumps(error, separators=(",", ":")).encode()
        assert body == b'{"jsonrpc":"2.0","error":%s,"id":0}' % listed
