"""Every shipped OCF agent's metadata validates against resource-agents' schemas (its exact
text: test_metadata_golden.py)."""

import subprocess

import pytest
from lxml import etree

from xenha.install import OCF_DIR, shipped_agents

SCHEMAS = "/usr/share/resource-agents/"
OCF_AGENTS = [a for a in shipped_agents() if a.relpath.startswith(OCF_DIR)]


def test_both_agents_are_shipped():
    names = sorted(a.relpath.rsplit("/", 1)[1] for a in OCF_AGENTS)
    assert {"xen-vm", "xapi-pool-master"} <= set(names)


@pytest.mark.parametrize("agent", OCF_AGENTS, ids=lambda a: a.relpath.rsplit("/", 1)[1])
def test_metadata_validates_against_metadata_rng_and_ra_api_dtd(metadata, agent, tmp_path):
    text = metadata(agent)
    doc = etree.fromstring(text.encode())
    rng = etree.RelaxNG(etree.parse(SCHEMAS + "metadata.rng"))
    assert rng.validate(doc), rng.error_log
    dtd = etree.DTD(SCHEMAS + "ra-api-1.dtd")
    assert dtd.validate(doc), dtd.error_log
    # and the same with xmllint, the tool resource-agents' own build uses
    path = tmp_path / "meta.xml"
    path.write_text(text)
    for flag, schema in (("--relaxng", "metadata.rng"), ("--dtdvalid", "ra-api-1.dtd")):
        r = subprocess.run(
            ["xmllint", "--noout", flag, SCHEMAS + schema, str(path)],
            cwd=SCHEMAS,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
        )
        assert r.returncode == 0 and "validates" in r.stdout, r.stdout
    assert doc.get("name") == agent.relpath.rsplit("/", 1)[1]
    assert doc.findtext("version") == "1.1"


def params_and_actions(metadata, agent):
    doc = etree.fromstring(metadata(agent).encode())
    params = {p.get("name"): p for p in doc.iter("parameter")}
    actions = [a.attrib for a in doc.iter("action")]
    return params, actions


CONNECTION = {
    "xapi_url",
    "xapi_user",
    "xapi_password_file",
    "xapi_ca_file",
    "xapi_fingerprint",
    "xapi_insecure",
    "host_map",
}


def test_xen_vm_parameters_and_actions_are_the_shared_contract(metadata):
    (agent,) = [a for a in OCF_AGENTS if a.relpath.endswith("/xen-vm")]
    params, actions = params_and_actions(metadata, agent)
    assert set(params) == CONNECTION | {"vm", "shutdown_timeout", "check_guest"}
    assert (params["vm"].get("required"), params["vm"].get("unique")) == ("1", "1")
    assert params["xapi_insecure"].find("content").attrib == {"type": "boolean", "default": "false"}
    assert params["xapi_user"].find("content").get("default") == "root"
    assert params["xapi_password_file"].find("content").get("default") == "/etc/xenha/xapi.secret"
    assert params["shutdown_timeout"].find("content").get("type") == "integer"
    names = {a["name"] for a in actions}
    assert names == {
        "start",
        "stop",
        "monitor",
        "migrate_to",
        "migrate_from",
        "validate-all",
        "meta-data",
    }
    assert {a.get("depth") for a in actions if a["name"] == "monitor"} == {"0", "10"}


def test_pool_master_is_promotable_with_promoted_and_unpromoted_monitors(metadata):
    (agent,) = [a for a in OCF_AGENTS if a.relpath.endswith("/xapi-pool-master")]
    params, actions = params_and_actions(metadata, agent)
    assert set(params) == CONNECTION | {
        "pool_conf",
        "pool_record",
        "xapi_restart_grace",
        "isolation_grace",
    }
    names = {a["name"] for a in actions}
    assert {"promote", "demote", "notify", "start", "stop", "monitor", "validate-all"} <= names
    monitors = {a["role"]: a["interval"] for a in actions if a["name"] == "monitor"}
    assert set(monitors) == {"Promoted", "Unpromoted"}
    assert monitors["Promoted"] != monitors["Unpromoted"]  # Pacemaker needs distinct intervals
