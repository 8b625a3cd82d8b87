"""HA-Lizard import: every old setting is accounted for, secrets are never copied."""

import os

import pytest

from tests.conftest import REPO
from xenha import model
from xenha.importers import halizard
from xenha.model.source import ModelError

DIR = os.path.join(REPO, "tests", "golden", "halizard")
SETTINGS = os.path.join(DIR, "ha-cfg-get.txt")
HOSTS = os.path.join(DIR, "ILO.hosts")
NODES = [
    "xs1,5f1c6a7e-0000-4000-8000-000000000001,192.0.2.11",
    "xs2,5f1c6a7e-0000-4000-8000-000000000002,192.0.2.12",
]


def test_import_maps_settings_and_writes_a_valid_description():
    text, report = halizard.convert(SETTINGS, NODES, HOSTS)
    m = model.loads(text)
    xs1 = m["cluster"]["nodes"][0]
    assert xs1["host"] == "5f1c6a7e-0000-4000-8000-000000000001"
    assert xs1["fencing"][0]["device"] == "ilo" and xs1["fencing"][0]["ip"] == "192.0.2.101"
    assert m["pool"]["protect"] == "flagged" and m["pool"]["mode"] == "vms"
    assert m["connectivity"]["ping"] == ["192.0.2.1", "192.0.2.254"]
    assert m["resources"]["migration_threshold"] == 20
    assert m["alerts"]["recipients"] == ["ops@example.com"]
    assert m["alerts"]["smtp"]["password_file"] == "/etc/xenha/smtp.secret"
    assert m["alerts"]["smtp"]["starttls"] is True
    assert m["quorum"]["mode"] == "two_node"


def test_every_setting_is_reported_and_no_secret_is_copied():
    text, report = halizard.convert(SETTINGS, NODES, HOSTS)
    with open(SETTINGS) as f:
        keys = halizard.parse_settings(f.read())
    for key in keys:
        assert any(line.startswith(key) for line in report), key
    for secret in ("not-a-real-secret", "also-not-real"):
        assert secret not in text
        assert all(secret not in line for line in report)
    assert any(line.startswith("FENCE_PASSWD -> not copied") for line in report)
    expected = "XAPI_COUNT=2 -> no equivalent: Corosync membership (token timeout) decides"
    assert expected + " that a host is dead" in report


def test_appliance_mode_and_disabled_vapps(tmp_path):
    settings = tmp_path / "s.txt"
    settings.write_text("OP_MODE=1\nDISABLED_VAPPS=(u-1:u-2)\nFENCE_METHOD=POOL\nMAIL_ON=0\n")
    text, report = halizard.convert(str(settings), NODES, xapi_address="192.0.2.20")
    m = model.loads(text)
    assert m["pool"]["mode"] == "appliances"
    assert m["pool"]["excluded_appliances"] == ["u-1", "u-2"]
    assert "alerts" not in text


def test_pool_fencing_gets_the_xapi_address_the_host_and_an_explicit_pool_only_allowance(
    tmp_path,
):
    from xenha.crm import plan

    settings = tmp_path / "s.txt"
    settings.write_text("FENCE_METHOD=POOL\n")
    text, report = halizard.convert(str(settings), NODES, xapi_address="192.0.2.20")
    m = model.loads(text)
    assert m["cluster"]["allow_pool_only_fencing"] is True
    (dev,) = m["cluster"]["nodes"][1]["fencing"]
    assert dev["device"] == "xapi" and dev["ip"] == "192.0.2.20"
    assert dev["plug"] == "5f1c6a7e-0000-4000-8000-000000000002"
    assert dev["password_file"] == "/etc/xenha/xapi.secret"
    (line,) = [x for x in report if x.startswith("FENCE_METHOD=POOL")]
    for said in ("ip 192.0.2.20", "allow_pool_only_fencing", "cuts no power", "power device"):
        assert said in line
    fence = [p for p in plan.build(m).primitives if p.id == "fence-xs2-xapi"][0]
    assert ("ip", "192.0.2.20") in fence.params
    # Without the allowance the description is refused: pool fencing alone cuts no power.
    refused = text.replace("allow_pool_only_fencing: true", "allow_pool_only_fencing: false")
    with pytest.raises(ModelError, match="fenced only by device: xapi"):
        model.loads(refused)


def test_a_power_device_appended_to_imported_pool_fencing_is_tried_first(tmp_path):
    """The way out the report suggests: add a BMC to each node of a POOL import. Appended
    after the xapi entry, it must still be the first level: POOL first would declare a
    host that is merely cut off dead while it runs its VMs."""
    import yaml

    from xenha.crm import plan

    settings = tmp_path / "s.txt"
    settings.write_text("FENCE_METHOD=POOL\n")
    text, _ = halizard.convert(str(settings), NODES, xapi_address="192.0.2.20")
    data = yaml.safe_load(text)
    for i, node in enumerate(data["cluster"]["nodes"]):
        node["fencing"].append(
            {"device": "ilo", "ip": "192.0.2.10%d" % (i + 1), "username": "fence",
             "password_file": "/etc/xenha/ilo.secret"}
        )  # fmt: skip
    m = model.loads(yaml.safe_dump(data, sort_keys=False))
    levels = [(lvl.index, lvl.devices) for lvl in plan.build(m).topology if lvl.target == "xs1"]
    assert levels == [(1, ["fence-xs1-ilo"]), (2, ["fence-xs1-xapi"])]


def test_pool_fencing_needs_the_xapi_address(tmp_path):
    settings = tmp_path / "s.txt"
    settings.write_text("FENCE_METHOD=POOL\n")
    with pytest.raises(ModelError, match="FENCE_METHOD=POOL: give --xapi-address"):
        halizard.convert(str(settings), NODES)


def test_xvm_fencing_needs_the_dom0_address(tmp_path):
    settings = tmp_path / "s.txt"
    settings.write_text("FENCE_METHOD=XVM\n")
    with pytest.raises(ModelError, match="XVM needs FENCE_IPADDRESS"):
        halizard.convert(str(settings), NODES)
    settings.write_text("FENCE_METHOD=XVM\nFENCE_IPADDRESS=192.0.2.5\n")
    m = model.loads(halizard.convert(str(settings), NODES)[0])
    (dev,) = m["cluster"]["nodes"][0]["fencing"]
    assert (dev["device"], dev["ip"]) == ("xvm", "192.0.2.5")


def test_host_missing_from_the_hosts_file(tmp_path):
    hosts = tmp_path / "ILO.hosts"
    hosts.write_text("5f1c6a7e-0000-4000-8000-000000000001:192.0.2.101\n")
    with pytest.raises(ModelError, match="host 5f1c6a7e-0000-4000-8000-000000000002 .* not in"):
        halizard.convert(SETTINGS, NODES, str(hosts))


def test_bad_node_spec():
    with pytest.raises(ModelError, match="expected NAME,HOST_UUID,ADDRESS"):
        halizard.convert(SETTINGS, ["xs1,uuid"], HOSTS)


def test_cli_prints_the_report(xenha, tmp_path):
    out = tmp_path / "pool.yaml"
    argv = ["config", "import-halizard", SETTINGS, "--hosts-file", HOSTS, "-o", str(out)]
    for node in NODES:
        argv += ["--node", node]
    r = xenha(*argv)
    assert r.returncode == 0, r.stderr
    assert "GLOBAL_VM_HA=0 -> pool.protect: flagged" in r.stdout
    assert model.load(str(out))["cluster"]["name"] == "pool"


def test_cli_pool_fencing_takes_the_xapi_address(xenha, tmp_path):
    settings = tmp_path / "s.txt"
    settings.write_text("FENCE_METHOD=POOL\n")
    out = tmp_path / "pool.yaml"
    argv = ["config", "import-halizard", str(settings), "-o", str(out)]
    for node in NODES:
        argv += ["--node", node]
    r = xenha(*argv)
    assert r.returncode == 1 and "give --xapi-address" in r.stderr and "Traceback" not in r.stderr
    r = xenha(*(argv + ["--xapi-address", "192.0.2.20"]))
    assert r.returncode == 0, r.stderr
    assert "cuts no power" in r.stdout
    assert model.load(str(out))["cluster"]["nodes"][0]["fencing"][0]["ip"] == "192.0.2.20"
