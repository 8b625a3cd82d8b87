"""Every XAPI error code the simulator can raise is one xapi has: the names of xen-api's
ocaml/xapi-consts/api_errors.ml at v26.1.4 (XCP-ng 8.3), kept in tests/data."""

import ast
import os
import re

from tests.conftest import REPO

POOL_DIR = os.path.join(REPO, "xenha", "lab", "pool")
KNOWN = os.path.join(REPO, "tests", "data", "xapi_api_errors.txt")
CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")


def xapi_error_codes():
    with open(KNOWN) as f:
        lines = [line.strip() for line in f]
    assert lines[0].startswith("#") and "v26.1.4" in lines[0]
    return {line for line in lines[1:] if line}


def raised_codes(source):
    """(code, line) of each error the code in ``source`` can raise: the first argument of
    ``Failure(...)`` or ``Refused(...)`` (refused before dispatch) and the first item of a
    list literal that reads as an error description (``["HOST_OFFLINE", ref]``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        first = None
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in ("Failure", "Refused") and node.args:
                first = node.args[0]
        elif isinstance(node, ast.List) and node.elts:
            first = node.elts[0]
        if isinstance(first, ast.Constant) and CODE.match(str(first.value)):
            found.append((first.value, first.lineno))
    return found


def simulator_codes():
    codes = {}
    for directory, _, files in os.walk(POOL_DIR):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                with open(path) as f:
                    for code, line in raised_codes(f.read()):
                        codes.setdefault(code, "%s:%d" % (os.path.relpath(path, REPO), line))
    return codes


def test_the_extractor_finds_failures_and_error_descriptions():
    source = (
        'raise Failure(\n    "VM_BAD_POWER_STATE", ref)\nx = ["HOST_OFFLINE", r]\ny = t["VM"]\n'
    )
    assert sorted(raised_codes(source)) == [("HOST_OFFLINE", 3), ("VM_BAD_POWER_STATE", 2)]


def test_every_error_the_simulator_raises_is_one_xapi_has():
    codes = simulator_codes()
    # the walk sees the errors it should (a broken walk would pass vacuously)
    assert {"HANDLE_INVALID", "VM_BAD_POWER_STATE", "HOST_STILL_BOOTING"} <= set(codes)
    assert {"INTERNAL_ERROR", "TASK_CANCELLED"} <= set(codes)
    unknown = {code: where for code, where in codes.items() if code not in xapi_error_codes()}
    assert unknown == {}, "not xapi error codes (api_errors.ml v26.1.4): %s" % unknown
