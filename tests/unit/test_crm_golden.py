"""Generator golden files, and the three outputs checked against Pacemaker, crmsh and each other.

Regenerate the golden files after an intended change with
``XENHA_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_crm_golden.py`` and review the diff.
"""

import os
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import REPO
from xenha import model
from xenha.crm import plan, render, simulate

GOLDEN = os.path.join(REPO, "tests", "golden")
CASES = sorted(f[: -len(".yaml")] for f in os.listdir(GOLDEN) if f.endswith(".yaml"))
SUFFIX = {"crm": ".crm", "xml": ".xml", "pcs": ".pcs.sh", "corosync": ".corosync.conf"}


def rendered(case, fmt):
    return render.render(model.load(os.path.join(GOLDEN, case + ".yaml")), fmt, case + ".yaml")


def test_golden_cases_cover_the_acceptance_descriptions():
    assert {"two-node-qdevice", "three-node-pdu", "appliances"} <= set(CASES)


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
@pytest.mark.parametrize("case", CASES)
def test_output_matches_golden(case, fmt):
    path = os.path.join(GOLDEN, case + SUFFIX[fmt])
    text = rendered(case, fmt)
    if os.environ.get("XENHA_UPDATE_GOLDEN"):
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        assert text == f.read(), "%s differs from the generator's output" % path


@pytest.mark.parametrize("case", CASES)
def test_cib_passes_crm_verify_without_warnings(case, tmp_path):
    cib = tmp_path / "cib.xml"
    cib.write_text(rendered(case, "xml"))
    assert simulate.verify(str(cib)) == []


# -- crm text, loaded by crmsh, must give the same configuration as the XML ------------------


def canonical(cib_path):
    """The configuration's meaning, independent of element ids crmsh or pcs make up."""
    conf = ET.parse(cib_path).getroot().find("configuration")

    def nv(elem, tag):
        found = elem.find(tag) if elem is not None else None
        return {} if found is None else {p.get("name"): p.get("value") for p in found}

    def ops(prim):
        out = set()
        for op in prim.iter("op"):
            depth = nv(op, "instance_attributes").get("OCF_CHECK_LEVEL")
            key = (op.get("name"), op.get("interval"), op.get("timeout"), op.get("role"), depth)
            out.add(key)
        return out

    out = {"crm_config": nv(conf.find("crm_config"), "cluster_property_set")}
    out["rsc_defaults"] = nv(conf.find("rsc_defaults"), "meta_attributes")
    out["op_defaults"] = nv(conf.find("op_defaults"), "meta_attributes")
    for prim in conf.iter("primitive"):
        out["primitive " + prim.get("id")] = (
            prim.get("class"),
            prim.get("provider"),
            prim.get("type"),
            nv(prim, "instance_attributes"),
            nv(prim, "meta_attributes"),
            ops(prim),
        )
    for clone in conf.iter("clone"):
        out["clone " + clone.get("id")] = (
            clone.find("primitive").get("id"),
            nv(clone, "meta_attributes"),
        )
    for loc in conf.iter("rsc_location"):
        rules = [
            (
                r.get("score"),
                r.get("role"),
                r.get("boolean-op"),
                [(e.get("attribute"), e.get("operation"), e.get("value")) for e in r],
            )
            for r in loc.findall("rule")
        ]
        out["location " + loc.get("id")] = (
            loc.get("rsc") or "/%s/" % loc.get("rsc-pattern"),
            loc.get("score"),
            loc.get("node"),
            rules,
        )
    for order in conf.iter("rsc_order"):
        sets = [
            (
                s.get("action"),
                s.get("sequential", "true"),
                [r.get("id") for r in s.findall("resource_ref")],
            )
            for s in order.findall("resource_set")
        ]
        if not sets:
            sets = [
                (order.get("first-action"), "true", [order.get("first")]),
                (order.get("then-action"), "true", [order.get("then")]),
            ]
        out["order " + order.get("id")] = (order.get("kind"), order.get("symmetrical"), sets)
    out["fencing"] = sorted(
        (f.get("target"), f.get("index"), f.get("devices")) for f in conf.iter("fencing-level")
    )
    for alert in conf.iter("alert"):
        out["alert " + alert.get("id")] = (
            alert.get("path"),
            nv(alert, "instance_attributes"),
            sorted(r.get("value") for r in alert.iter("recipient")),
        )
    return out


def crmsh_load(crm_text, tmp_path):
    """Load crm text with crmsh into an empty CIB file (no cluster; -F: agents not installed)."""
    cib = tmp_path / "crmsh-cib.xml"
    cib.write_text(subprocess.check_output(["cibadmin", "--empty"], universal_newlines=True))
    text = tmp_path / "config.crm"
    text.write_text(crm_text)
    proc = subprocess.run(
        ["crm", "-F", "configure", "load", "update", str(text)],
        env=dict(os.environ, CIB_file=str(cib)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )
    assert proc.returncode == 0, proc.stderr
    # Only the missing agents' metadata may be complained about.
    for line in proc.stderr.splitlines():
        assert "ERROR" not in line or "meta-data" in line or "no such resource agent" in line, line
    return cib


@pytest.mark.skipif(shutil.which("crm") is None, reason="crmsh (crm) is not installed")
@pytest.mark.parametrize("case", CASES)
def test_crm_text_loads_with_crmsh_into_the_same_configuration_as_the_xml(case, tmp_path):
    cib = crmsh_load(rendered(case, "crm"), tmp_path)
    assert simulate.verify(str(cib)) == []
    ours = tmp_path / "ours.xml"
    ours.write_text(rendered(case, "xml"))
    assert canonical(str(cib)) == canonical(str(ours))


# -- the pcs script names the same things (pcs itself runs it: tests/agents/test_pcs.py) -----


def pcs_ids(script):
    """Resource, constraint and fencing-level names the pcs script creates."""
    ids = set()
    for line in script.splitlines():
        if not line.startswith('pcs -f "$cib" '):
            continue
        argv = shlex.split(line)[3:]
        cmd = " ".join(argv[:2])
        if cmd in ("resource create", "stonith create"):
            ids.add(argv[2])
        elif (
            cmd in ("resource clone", "resource promotable")
            or cmd == "constraint location"
            and argv[2] == "add"
        ):
            ids.add(argv[3])
        elif cmd == "stonith level":
            ids.add("level %s %s %s" % (argv[4], argv[3], ",".join(argv[5:])))
        elif cmd == "alert create":
            ids.add(argv[2][len("id=") :])
        else:
            ids.update(a.split("=", 1)[1] for a in argv if a.startswith(("id=", "constraint-id=")))
    return ids


@pytest.mark.parametrize("case", CASES)
def test_pcs_script_creates_what_the_crm_text_creates(case):
    m = model.load(os.path.join(GOLDEN, case + ".yaml"))
    cfg = plan.build(m)
    expected = set(cfg.ids())
    expected |= {"level %s %d %s" % (t.target, t.index, ",".join(t.devices)) for t in cfg.topology}
    expected |= {rid for a in cfg.alerts for rid, _ in a.recipients}
    expected |= {loc.id + "-rule" for loc in cfg.locations if loc.rule}
    script = rendered(case, "pcs")
    assert pcs_ids(script) == expected
    assert subprocess.run(["sh", "-n"], input=script, universal_newlines=True).returncode == 0
