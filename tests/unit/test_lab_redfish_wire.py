"""The lab Redfish service on the wire as DSP0266 has it, read raw (http.client): what fence
agents depend on, checked one by one, then DMTF's Redfish-Protocol-Validator over all of it."""

import base64
import csv
import http.client
import json
import os
import ssl
import subprocess
import sys

import pytest

from xenha.lab.power import redfish_auth, testing

SESSIONS = "/redfish/v1/SessionService/Sessions"
OK = ("PASS", "NOT_TESTED")  # a WARN counts as a failure
# What the validator must have seen pass, not only not fail: the service root and the
# version document without credentials, sessions (login, token, Location), HTTP Basic, the
# 401 challenge, OData-Version, media types and Allow on 405 (its assertion names).
MUST_PASS = {
    "PROTO_STD_URI_SERVICE_ROOT",
    "PROTO_STD_URI_VERSION",
    "PROTO_HTTP_UNSUPPORTED_METHODS",
    "PROTO_JSON_ACCEPTED",
    "REQ_GET_SERVICE_ROOT_NO_AUTH",
    "REQ_GET_METADATA_ODATA_NO_AUTH",
    "REQ_HEADERS_ODATA_VERSION",
    "REQ_HEADERS_X_AUTH_TOKEN",
    "RESP_HEADERS_ODATA_VERSION",
    "RESP_HEADERS_CONTENT_TYPE",
    "RESP_HEADERS_ALLOW_METHOD_NOT_ALLOWED",
    "RESP_HEADERS_WWW_AUTHENTICATE",
    "RESP_HEADERS_X_AUTH_TOKEN",
    "RESP_HEADERS_LOCATION",
    "SEC_BOTH_AUTH_TYPES",
    "SEC_SUPPORT_BASIC_AUTH",
    "SEC_REQUIRE_LOGIN_SESSIONS",
    "SEC_SESSIONS_URI_LOCATION",
    "SEC_SESSION_POST_RESPONSE",
    "SEC_READ_REQUIRES_AUTH",
    "SEC_WRITE_REQUIRES_AUTH",
    "SEC_NO_PRIV_INFO_IN_MSGS",
}


@pytest.fixture(scope="module")
def bmc():
    with testing.rack() as rack, testing.redfish_bmc(rack, "node1") as bmc:
        yield bmc


def request(bmc, method, path, body=None, **headers):
    """(status, headers, body: JSON or None) of one request; the connection closed after."""
    conn = http.client.HTTPSConnection(
        "127.0.0.1", bmc.port, timeout=10, context=ssl.create_default_context(cafile=bmc.ca_file)
    )
    try:
        data = None if body is None else json.dumps(body)
        conn.request(method, path, data, {k.replace("_", "-"): v for k, v in headers.items()})
        r = conn.getresponse()
        raw = r.read()
        return r.status, r.headers, json.loads(raw) if raw.startswith(b"{") else None
    finally:
        conn.close()


def basic(bmc):
    return "Basic " + base64.b64encode(("%s:%s" % (bmc.user, bmc.password)).encode()).decode()


def test_root_and_version_document_need_no_login(bmc):
    status, headers, version = request(bmc, "GET", "/redfish")
    assert (status, version) == (200, {"v1": "/redfish/v1/"})
    status, headers, root = request(bmc, "GET", "/redfish/v1/")
    assert status == 200 and root["Links"]["Sessions"] == {"@odata.id": SESSIONS}
    assert headers["OData-Version"] == "4.0"
    assert headers["Content-Type"] == "application/json;charset=utf-8"


def test_session_login_token_and_logout(bmc):
    status, headers, _ = request(bmc, "GET", "/redfish/v1/Systems")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")
    login = {"UserName": bmc.user, "Password": bmc.password}
    status, headers, session = request(bmc, "POST", SESSIONS, login)
    token, uri = headers["X-Auth-Token"], headers["Location"]
    assert status == 201 and session["@odata.id"] == uri and "Password" not in session
    status, _, systems = request(bmc, "GET", "/redfish/v1/Systems", X_Auth_Token=token)
    assert status == 200 and systems["Members@odata.count"] == 1
    assert request(bmc, "GET", SESSIONS, Authorization=basic(bmc))[2]["Members"] == [
        {"@odata.id": uri}
    ]
    assert request(bmc, "DELETE", uri, X_Auth_Token=token)[0] == 204
    status, headers, _ = request(bmc, "GET", "/redfish/v1/Systems", X_Auth_Token=token)
    assert status == 401 and "WWW-Authenticate" in headers
    assert request(bmc, "GET", SESSIONS, Authorization=basic(bmc))[2]["Members"] == []


def test_wrong_login_wrong_method_wrong_version(bmc):
    wrong = {"UserName": bmc.user, "Password": "wrong"}
    status, headers, body = request(bmc, "POST", SESSIONS, wrong)
    assert status == 401 and "X-Auth-Token" not in headers and body["error"]["code"]
    status, headers, _ = request(bmc, "DELETE", "/redfish/v1/Systems/1", Authorization=basic(bmc))
    assert (status, headers["Allow"]) == (405, "GET, HEAD")
    status, _, _ = request(bmc, "GET", "/redfish/v1/", OData_Version="4.1")
    assert status == 412


def test_an_idle_session_ends_after_the_session_timeout():
    now = [1000.0]
    sessions = redfish_auth.Sessions(timeout=600, clock=lambda: now[0])
    uri, token = sessions.create("admin")
    now[0] += 599
    assert sessions.check(token) and sessions.uris() == [uri]  # a use restarts the wait
    now[0] += 599
    assert sessions.check(token)
    now[0] += 601
    assert not sessions.check(token) and sessions.uris() == []
    assert sessions.document(uri) is None


def validator_config(bmc, directory):
    """The validator's config.ini (mode 0600): the password stays off its command line."""
    path = os.path.join(directory, "config.ini")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(
            "[Authentication]\nuser = %s\npassword = %s\n[Connection]\n"
            "rhost = https://127.0.0.1:%d\nca-bundle = %s\n"
            # The lab serves HTTPS only, as fence agents speak it: no plain-HTTP port
            # whose redirect to HTTPS could be checked.
            "avoid-http-redirect = true\n"
            "[Reporting]\nreport-dir = %s\nreport-type = tsv\n"
            % (bmc.user, bmc.password, bmc.port, bmc.ca_file, directory)
        )
    return path


def test_dmtf_protocol_validator_finds_no_failure(bmc, tmp_path):
    validator = os.path.join(os.path.dirname(sys.executable), "rf_protocol_validator")
    # The machine's CA bundle variables would win over the validator's ca-bundle in requests.
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    r = subprocess.run(
        [validator, "--config", validator_config(bmc, str(tmp_path))],
        cwd=str(tmp_path),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=300,
    )
    (report,) = tmp_path.glob("*.tsv")
    with report.open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    failed = [(x["Assertion"], x["URI"], x["Message"]) for x in rows if x["Result"] not in OK]
    assert failed == [], r.stdout
    assert MUST_PASS - {x["Assertion"] for x in rows if x["Result"] == "PASS"} == set()
    assert r.returncode == 0 and "FAIL: 0" in r.stdout, r.stdout
