"""`xenha config discover` against the XAPI simulator: protection rules, appliances, host UUIDs."""

import yaml

from xenha import model
from xenha.lab.pool.testing import running_pool

STATE = {
    "hosts": [{"name": "host1"}, {"name": "host2"}],
    "appliances": [{"name": "erp"}, {"name": "lab"}],
    "vms": [
        {"name": "db", "host": "host1", "other_config": {"ha-lizard-enabled": "true"}},
        {"name": "web", "host": "host2", "other_config": {"ha-lizard-enabled": "false"}},
        {"name": "odd", "host": "host1", "other_config": {"ha-lizard-enabled": "yes"}},
        {"name": "plain", "host": "host2"},
        {"name": "erp-app", "host": "host1", "appliance": "erp", "order": 1},
        {"name": "erp-db", "host": "host2", "appliance": "erp", "order": 0},
        {"name": "lab-vm", "host": "host1", "appliance": "lab"},
    ],
}


def description(sim, tmp_path, pool, vms=None):
    data = {
        "cluster": {
            "name": "sim",
            "nodes": [
                {"name": h.name, "address": "198.18.0.%d" % (i + 1), "allow_no_fencing": True}
                for i, h in enumerate(sim.hosts)
            ],
        },
        "pool": dict(pool, xapi={"url": sim.master.url, "password_file": sim.password_file}),
    }
    if vms is not None:
        data["vms"] = vms
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def discover(xenha, path):
    r = xenha("config", "discover", path)
    assert r.returncode == 0, r.stderr
    return model.loads(r.stdout), r.stdout, r.stderr


def test_flagged_vms_all_vms_and_appliances(xenha, tmp_path):
    with running_pool(state=STATE) as sim:
        uuid = {name: u for u, name in sim.vm_names.items()}

        path = description(sim, tmp_path, {"protect": "flagged"}, vms=[{"vm": "db", "priority": 7}])
        m, text, report = discover(xenha, path)
        assert [(v["vm"], v["id"], v["priority"]) for v in m["vms"]] == [(uuid["db"], "vm-db", 7)]
        assert "ha-lizard-enabled='yes' is neither true nor false; not protected" in report
        assert [n["host"] for n in m["cluster"]["nodes"]] == [h.uuid for h in sim.hosts]
        assert "1 of 7 VMs protected" in report

        path = description(sim, tmp_path, {"protect": "all"})
        m, _, report = discover(xenha, path)
        assert sorted(v["vm"] for v in m["vms"]) == sorted(sim.vms)

        path = description(sim, tmp_path, {"mode": "appliances", "excluded_appliances": ["lab"]})
        m, _, report = discover(xenha, path)
        (erp,) = m["appliances"]
        assert erp["name"] == "erp"
        assert [v["vm"] for v in erp["vms"]] == [uuid["erp-db"], uuid["erp-app"]]  # start order
        assert "appliance lab (" in report and "): excluded" in report


def test_discovered_description_generates_and_verifies(xenha, tmp_path):
    with running_pool(state=STATE) as sim:
        path = description(sim, tmp_path, {"protect": "all"})
        out = tmp_path / "filled.yaml"
        r = xenha("config", "discover", path, "-o", str(out))
        assert r.returncode == 0, r.stderr
    r = xenha("config", "generate", str(out))
    assert r.returncode == 0 and "primitive vm-erp-db ocf:xenha:xen-vm" in r.stdout


def test_unreachable_pool_is_a_clean_error(xenha, tmp_path):
    path = tmp_path / "pool.yaml"
    path.write_text(
        "cluster: {name: c, nodes: [{name: a, address: 10.0.0.1, allow_no_fencing: true},"
        " {name: b, address: 10.0.0.2, allow_no_fencing: true}]}\n"
        "pool: {xapi: {url: 'http://127.0.0.1:9'}}\n"
    )
    pw = tmp_path / "pw"
    pw.write_text("x")
    pw.chmod(0o600)
    r = xenha("config", "discover", str(path), "--password-file", str(pw))
    assert r.returncode == 1
    assert r.stderr.startswith("xenha: error:") and "Traceback" not in r.stderr
