"""The wire as xapi speaks it: XML-RPC on every path but ``/jsonrpc``, JSON-RPC there.

Read from xen-api v26.1.4 and the ocaml-rpc library it is built with (rpclib):

* Routing: ``ocaml/idl/datamodel.ml`` (``post_root`` is ``/``, ``post_RPC2``,
  ``post_json``, ``post_jsonrpc``) and ``ocaml/xapi/xapi.ml``: only ``/jsonrpc``
  speaks JSON-RPC; ``/``, ``/RPC2`` and ``/json`` all parse XML-RPC. Http_svr picks
  the handler by the longest matching prefix of the path, so any other path (the npm
  ``xen-api`` client posts to ``/xmlrpc``) is XML-RPC too. The request's Content-Type
  is never looked at: JSON posted to ``/`` is an unparsable XML-RPC call.
* XML-RPC: ``ocaml-rpc src/lib/xmlrpc.ml`` (``add_value``, ``string_of_response``):
  no whitespace between tags, strings as bare ``<value>text</value>``, int64 as bare
  digits too (so the SDKs read them as strings), ``&<>"`` escaped and other control
  characters than tab, LF and CR dropped.
* JSON-RPC: ``ocaml-rpc src/lib/jsonrpc.ml`` (``version_id_and_call_of_string``,
  ``json_of_response``, ``string_of_call``) and ``ocaml/xapi/api_server.ml``
  (``jsoncallback``, ``callback1``). A request without ``"jsonrpc"`` is 1.0, with
  ``"2.0"`` it is 2.0 (its ``params`` may be absent or an object, which is then the one
  parameter); the ``id``, a number or a string, is required and echoed. A result is the
  value itself; int64 are numbers. A 1.0 error is the ErrorDescription list; a 2.0
  error is ``{"code": 1, "message": <code>, "data": <the code's parameters>}``
  (``api_server_common.ml`` ``json_of_error_object``) - except the failures that
  ``callback1`` does not translate: a call refused before dispatch (emergency mode) is
  answered by ``jsoncallback``'s handler as 2.0 with id 0 and the list, and a call a
  slave passed to its master (``forward``, over JSON-RPC 1.0) gets the master's list.
* A request xapi cannot parse is no call: Http_svr answers HTTP 500 with an HTML page
  and closes the connection (``http_svr.ml`` ``handle_one``).
"""

import json
import xmlrpc.client
from typing import NamedTuple
from xml.parsers.expat import ExpatError

LIST_METHODS = "system.listMethods"

# Where a failure's answer comes from, which decides its JSON-RPC 2.0 shape (above).
DISPATCHED = "dispatched"
FORWARDED = "forwarded"
REFUSED = "refused"


class Response(NamedTuple):
    """A call's outcome as xapi's ``Rpc.response``: the value, or the ErrorDescription."""

    success: bool
    contents: object
    origin: str = DISPATCHED


class Malformed(Exception):
    """A request body that is no call of the wire it came on."""


def read(path, body):
    """``(wire, method, params)`` of a request POSTed to ``path``; raises Malformed."""
    if path.startswith(JsonRpc.path):
        return JsonRpc.read(body)
    return XmlRpc.read(body)


class XmlRpc:
    path = "/"
    content_type = "text/xml"

    def __init__(self, bare=False):
        self.bare = bare

    @classmethod
    def read(cls, body):
        """``(wire, method, params)`` of a request body; raises Malformed."""
        params, method = _loads(body)
        if not isinstance(method, str):
            raise Malformed("no methodName")
        return cls(bare=method == LIST_METHODS), method, list(params)

    def answer(self, response):
        """The response body. ``system.listMethods`` gets its value bare, with no Status
        struct (api_server.ml ``callback``), unless refused before dispatch."""
        if self.bare and response.origin != REFUSED:
            return _document("methodResponse", _params([response.contents]))
        if response.success:
            struct = {"Status": "Success", "Value": response.contents}
        else:
            struct = {"Status": "Failure", "ErrorDescription": response.contents}
        return _document("methodResponse", _params([struct]))

    def call(self, method, params):
        """A request body, as xapi's own client writes it (``string_of_call``)."""
        name = "<methodName>%s</methodName>" % _escape(method)
        return _document("methodCall", name + _params(params))

    def parse_answer(self, body):
        """A master's answer to a call this slave passed on (``call``); raises Malformed."""
        params, _ = _loads(body)
        struct = params[0] if len(params) == 1 and isinstance(params[0], dict) else {}
        if struct.get("Status") == "Success":
            return Response(True, struct.get("Value"), FORWARDED)
        if struct.get("Status") == "Failure":
            return Response(False, struct.get("ErrorDescription"), FORWARDED)
        raise Malformed("no Status struct")


class JsonRpc:
    path = "/jsonrpc"
    content_type = "application/json"

    def __init__(self, version, id):
        self.version, self.id = version, id

    @classmethod
    def read(cls, body):
        """``(wire, method, params)`` of a request body; raises Malformed."""
        request = _json_loads(body)
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            raise Malformed("no method")
        if "jsonrpc" not in request:
            version, params = "1.0", request.get("params")
        elif request["jsonrpc"] == "2.0":
            version, params = "2.0", request.get("params")
            params = [] if params is None else [params] if isinstance(params, dict) else params
        else:
            raise Malformed("jsonrpc is neither absent nor 2.0")
        if not isinstance(params, list):
            raise Malformed("params is no list")
        id = request.get("id")
        if isinstance(id, bool) or not isinstance(id, (int, str)):
            raise Malformed("no id")  # a notification too: xapi answers every call
        return cls(version, id), request["method"], params

    def answer(self, response):
        """The response body."""
        if response.origin == REFUSED:
            return JsonRpc("2.0", 0)._document("error", response.contents)
        if response.success:
            return self._document("result", response.contents)
        if self.version == "2.0" and response.origin == DISPATCHED:
            code, data = response.contents[0], response.contents[1:]
            return self._document("error", {"code": 1, "message": code, "data": data})
        return self._document("error", response.contents)

    def _document(self, key, value):
        if self.version == "2.0":
            doc = {"jsonrpc": "2.0", key: value, "id": self.id}
        else:
            doc = {"result": None, "error": None, "id": self.id}
            doc[key] = value
        return _json_dumps(doc)

    def call(self, method, params):
        """A request body as xapi's forward writes it: JSON-RPC 1.0."""
        return _json_dumps({"method": method, "params": list(params), "id": 0})

    def parse_answer(self, body):
        """A master's answer to a call this slave passed on (``call``); raises Malformed."""
        doc = _json_loads(body)
        if not isinstance(doc, dict):
            raise Malformed("no response object")
        if doc.get("error") is None:
            return Response(True, doc.get("result"), FORWARDED)
        return Response(False, doc["error"], FORWARDED)


def _json_loads(body):
    try:
        return json.loads(body)
    except ValueError as e:  # bad JSON or bad UTF-8
        raise Malformed(str(e)) from None


def _json_dumps(doc):
    """Compact, as Yojson writes (rpclib's DateTime is a string there)."""
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, default=_datetime)
    return text.encode("utf-8")


def _datetime(value):
    if isinstance(value, xmlrpc.client.DateTime):
        return value.value
    raise TypeError("no XAPI wire form for %r" % (value,))


def as_read_over_xml_rpc(value):
    """``value`` as an XML-RPC client reads it from xapi (int64 as strings)."""
    return _loads(XmlRpc().answer(Response(True, value)))[0][0]["Value"]


def _loads(body):
    try:
        return xmlrpc.client.loads(body)
    except (ExpatError, ValueError, TypeError, xmlrpc.client.ResponseError) as e:
        raise Malformed(str(e)) from None


def _document(root, inner):
    return ('<?xml version="1.0"?><%s>%s</%s>' % (root, inner, root)).encode("utf-8")


def _params(values):
    return "<params>%s</params>" % "".join("<param>%s</param>" % value_xml(v) for v in values)


def value_xml(v):
    """One ``<value>`` as rpclib's ``add_value`` writes it (not strict: no type tag on
    strings and integers)."""
    if v is None:
        inner = "<nil/>"
    elif isinstance(v, bool):
        inner = "<boolean>%d</boolean>" % v
    elif isinstance(v, int):
        inner = "%d" % v
    elif isinstance(v, float):
        inner = "<double>%.16g</double>" % v
    elif isinstance(v, str):
        inner = _escape(v)
    elif isinstance(v, xmlrpc.client.DateTime):
        inner = "<dateTime.iso8601>%s</dateTime.iso8601>" % v.value
    elif isinstance(v, (list, tuple)):
        inner = "<array><data>%s</data></array>" % "".join(value_xml(x) for x in v)
    elif isinstance(v, dict):
        # rpclib writes member names unescaped; a map key with markup in it would make
        # xapi's answer unparsable, so ours are escaped (the same for every other key).
        members = "".join(
            "<member><name>%s</name>%s</member>" % (_escape(k), value_xml(x)) for k, x in v.items()
        )
        inner = "<struct>%s</struct>" % members
    else:
        raise TypeError("no XAPI wire form for %r" % (v,))
    return "<value>%s</value>" % inner


_ESCAPES = {c: None for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)}  # dropped
_ESCAPES.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;"})


def _escape(s):
    return s.translate(_ESCAPES)
