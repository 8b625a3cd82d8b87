"""`xenha config generate/verify/load` pin the description's pool names to UUIDs: a
node's host (by default its node name) and VMs given by name-label are resolved through
the pool's XAPI (pool.xapi), the UUIDs written into the configuration, one warning per
name relied on; `--no-resolve` keeps the names (offline) and says so."""

import os
import subprocess

import pytest
import yaml

from tests.conftest import REPO
from xenha.lab.pool.testing import running_pool

WEB = "6a1c58a2-0d4e-4c61-9d8e-3c2f1e0b7a11"
DB = "0f5e2b7c-9a64-4b1e-8c3d-2d7a9e4b6c22"
STATE = {
    "hosts": [{"name": "xs1"}, {"name": "xs2"}, {"name": "twin"}, {"name": "xs4"}],
    "vms": [
        {"name": "web", "uuid": WEB, "host": "xs1"},
        {"name": "db", "uuid": DB},
        {"name": "dup"},
        {"name": "dup"},
        {"name": "web-template", "is_a_template": True},
    ],
}
BREAKS = "a rename in XenCenter would break a configuration that kept the name"


@pytest.fixture(scope="module")
def sim():
    with running_pool(state=STATE) as s:
        # xs4 renamed in XenCenter to the name of another host: "twin" names two hosts
        s.set_field("host", s.host("xs4").uuid, "name_label", "twin")
        yield s


def description(sim, tmp_path, vms=("web", DB), n2_host="xs2", url=None):
    """Node xs1 by its name (the default), node n2 by the host name-label ``n2_host``,
    fenced by POOL behind a BMC (the xapi device's plug defaults to the host)."""
    desc = {
        "cluster": {
            "name": "c",
            "nodes": [
                {"name": "xs1", "address": "198.18.0.11", "fencing": [{"device": "meatware"}]},
                {
                    "name": "n2",
                    "host": n2_host,
                    "address": "198.18.0.12",
                    "fencing": [
                        {"device": "meatware"},
                        {
                            "device": "xapi",
                            "ip": "198.18.0.11",
                            "username": "root",
                            "password_file": "/etc/xenha/xapi.secret",
                        },
                    ],
                },  # fmt: skip
            ],
        },
        "pool": {"xapi": {"url": url or sim.master.url, "password_file": sim.password_file}},
        "vms": list(vms),
    }
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump(desc, sort_keys=False))
    return str(path)


def uuid_of(sim, name):
    return sim.host(name).uuid


def test_generate_writes_uuids_and_warns_once_per_name(xenha, sim, tmp_path):
    r = xenha("config", "generate", description(sim, tmp_path))
    assert r.returncode == 0, r.stderr
    xs1, xs2 = uuid_of(sim, "xs1"), uuid_of(sim, "xs2")
    assert 'host_map="xs1:%s;n2:%s"' % (xs1, xs2) in r.stdout
    assert "vm=%s " % WEB in r.stdout and "vm=%s " % DB in r.stdout
    assert "vm=web" not in r.stdout and ":xs2" not in r.stdout
    assert "plug=%s" % xs2 in r.stdout  # the xapi fence device of n2
    assert r.stderr.splitlines() == [
        "xenha: warning: node xs1's host is the name-label 'xs1' (its node name, the "
        "default); resolved to %s; %s" % (xs1, BREAKS),
        "xenha: warning: node n2's host is the name-label 'xs2'; resolved to %s; %s"
        % (xs2, BREAKS),
        "xenha: warning: VM vm-web is the name-label 'web'; resolved to %s; %s" % (WEB, BREAKS),
    ]
    with open(os.path.join(str(tmp_path), "pool.yaml")) as f:
        assert "- web\n" in f.read()  # the description is left as written


def test_no_resolve_keeps_the_names_and_says_so(xenha, sim, tmp_path):
    path = description(sim, tmp_path, url="http://127.0.0.1:9/")  # no pool needed
    r = xenha("config", "generate", path, "--no-resolve")
    assert r.returncode == 0, r.stderr
    assert 'host_map="xs1:xs1;n2:xs2"' in r.stdout and "vm=web " in r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 3
    assert lines[0] == (
        "xenha: warning: node xs1's host is the name-label 'xs1' (its node name, the default); "
        "kept as a name (--no-resolve): a rename in XenCenter would break this configuration; "
        "write the host's UUID (`xenha config discover` fills in hosts and VMs)"
    )
    assert lines[2].startswith("xenha: warning: VM vm-web is the name-label 'web'; kept")


def test_a_name_that_matches_nothing_or_several_is_a_clear_error(xenha, sim, tmp_path):
    r = xenha("config", "generate", description(sim, tmp_path, vms=["ghost"]))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "xenha: error: VM vm-ghost is the name-label 'ghost': no VM named 'ghost'" in r.stderr
    assert "write the VM's UUID, or fix the name" in r.stderr
    r = xenha("config", "generate", description(sim, tmp_path, vms=["dup"]))
    assert r.returncode == 1
    assert "VM vm-dup is the name-label 'dup': VM name 'dup' is ambiguous (UUIDs " in r.stderr
    r = xenha("config", "generate", description(sim, tmp_path, n2_host="twin"))
    assert r.returncode == 1
    assert "node n2's host is the name-label 'twin': host name 'twin' is ambiguous" in r.stderr
    assert "web-template" not in r.stderr  # templates are no VMs


def test_a_name_and_the_uuid_of_one_vm_are_refused(xenha, sim, tmp_path):
    r = xenha("config", "generate", description(sim, tmp_path, vms=["web", WEB]))
    assert r.returncode == 1
    assert "VM resources vm-web and vm-%s are the same VM (%s)" % (WEB, WEB) in r.stderr


def test_verify_and_load_resolve_too(xenha, sim, tmp_path):
    path = description(sim, tmp_path)
    r = xenha("config", "verify", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr.count("xenha: warning: ") == 3 and "resolved to" in r.stderr
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.check_output(["cibadmin", "--empty"], universal_newlines=True))
    env = dict(os.environ, CIB_file=str(cib))
    r = xenha("config", "load", path, "--force", "--yes", env=env)
    assert r.returncode == 0, r.stderr
    assert 'value="%s"' % WEB in cib.read_text() and 'value="web"' not in cib.read_text()


def test_an_unreachable_pool_says_how_to_go_on(xenha, sim, tmp_path):
    r = xenha("config", "generate", description(sim, tmp_path, url="http://127.0.0.1:9/"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "names pool hosts or VMs by name-label, and XAPI (pool.xapi) cannot be asked" in (
        r.stderr
    )
    assert "--no-resolve" in r.stderr


GOLDEN = os.path.join(REPO, "tests", "golden")


@pytest.mark.parametrize("case", ["appliances", "three-node-pdu", "two-node-qdevice"])
def test_golden_files_are_what_generate_no_resolve_prints(xenha, case):
    """The goldens keep the descriptions' names: `--no-resolve` prints them unchanged,
    and a description naming nothing (three-node-pdu: UUIDs only) asks no pool."""
    argv = ["config", "generate", os.path.join(GOLDEN, case + ".yaml")]
    r = xenha(*(argv + ([] if case == "three-node-pdu" else ["--no-resolve"])))
    assert r.returncode == 0, r.stderr
    with open(os.path.join(GOLDEN, case + ".crm")) as f:
        assert r.stdout == f.read()
    assert (r.stderr == "") is (case == "three-node-pdu")


def test_show_reports_the_clusters_and_the_pools_drift_from_the_description(xenha, sim, tmp_path):
    """`xenha config show`: nothing once loaded and flagged; a VM flagged in XenCenter but
    not protected, a protected VM without its flag, an invalid flag, a CIB object the
    description does not make, and a change load would still make."""
    path = description(sim, tmp_path)
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.check_output(["cibadmin", "--empty"], universal_newlines=True))
    env = dict(os.environ, CIB_file=str(cib))
    assert xenha("config", "load", path, "--force", "--yes", env=env).returncode == 0
    for uuid in (WEB, DB):
        sim.set_field("VM", uuid, "other_config", {"ha-lizard-enabled": "true"})
    r = xenha("config", "show", path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("no drift: the cluster and the pool match")
    sim.set_field("VM", DB, "other_config", {"ha-lizard-enabled": "yes"})
    dup = [v for v in sim.vms if sim.record("VM", v)["name_label"] == "dup"][0]
    sim.set_field("VM", dup, "other_config", {"ha-lizard-enabled": "true"})
    extra = "primitive vm-old ocf:xenha:xen-vm params vm=old\n"
    subprocess.run(["crm", "-F", "configure", "load", "update", "-"], input=extra, env=env,
                   universal_newlines=True, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # fmt: skip
    r = xenha("config", "show", path, "--json", env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    import json

    found = json.loads(r.stdout)
    assert found["extra"] == ["vm-old"] and found["cluster"] == [] and not found["cannot_tell"]
    assert found["flags"] == [
        "VM db: ha-lizard-enabled='yes' is neither true nor false (counts as not protected)",
        "VM dup is flagged ha-lizard-enabled=true in the pool, but not protected",
    ]
    r = xenha("config", "show", str(description(sim, tmp_path, vms=("web",))), env=env)
    assert r.returncode == 1 and "VM db is protected" not in r.stdout
    for uuid in (WEB, DB, dup):
        sim.set_field("VM", uuid, "other_config", {})


def test_backup_and_restore_the_configuration_and_the_vm_flags(xenha, sim, tmp_path):
    """`xenha backup` then `xenha restore` on a CIB file: the configuration comes back as
    it was (a changed VM parameter, previewed first), the VMs' flags too, the description
    is written back on request; a backup is root-only, and one of another cluster is
    refused."""
    import json
    import stat

    path = description(sim, tmp_path)
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.check_output(["cibadmin", "--empty"], universal_newlines=True))
    env = dict(os.environ, CIB_file=str(cib))
    assert xenha("config", "load", path, "--force", "--yes", env=env).returncode == 0
    sim.set_field("VM", WEB, "other_config", {"ha-lizard-enabled": "true"})
    named = ["crm_attribute", "--type", "crm_config", "--name", "cluster-name", "--update", "c"]
    subprocess.run(named, env=env, check=True)  # as Pacemaker sets it from corosync.conf
    saved = str(tmp_path / "backup.json")
    r = xenha("backup", saved, "--description", path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    with open(saved) as f:
        doc = json.load(f)
    assert doc["flags"]["vms"][WEB] == {"name": "web", "value": "true"}
    assert doc["description"]["text"].startswith("cluster:")
    changed = ["crm_resource", "--resource", "vm-web", "--set-parameter", "shutdown_timeout"]
    subprocess.run(changed + ["--parameter-value", "999"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    sim.set_field("VM", WEB, "other_config", {})
    r = xenha("restore", saved, "--dry-run", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "shutdown_timeout=999" in r.stdout.replace('"', ""), r.stdout
    assert 'value="999"' in cib.read_text()
    out = str(tmp_path / "restored.yaml")
    r = xenha("restore", saved, "--yes", "--description-to", out, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "configuration restored" in r.stdout
    assert "VM web: ha-lizard-enabled None -> 'true'" in r.stdout
    assert 'value="999"' not in cib.read_text()
    assert sim.record("VM", WEB)["other_config"] == {"ha-lizard-enabled": "true"}
    with open(out) as f, open(path) as g:
        assert f.read() == g.read()
    r = xenha("restore", saved, "--yes", env=env)
    assert "the configuration is as the backup has it" in r.stdout
    doc["cluster_name"] = "elsewhere"
    with open(saved, "w") as f:
        json.dump(doc, f)
    r = xenha("restore", saved, "--yes", env=env)
    assert r.returncode == 1 and "a backup of cluster elsewhere, this is cluster c" in r.stderr
    sim.set_field("VM", WEB, "other_config", {})


def test_a_backup_blanks_inline_secrets_and_a_bad_file_is_a_clear_error(xenha, tmp_path):
    from xenha import backup

    doc = backup.make(
        '<configuration><resources><primitive id="f"><instance_attributes id="i">'
        '<nvpair id="f-pw" name="password" value="hunter2"/></instance_attributes>'
        "</primitive></resources></configuration>"
    )
    assert doc["secrets_blanked"] == ["f-pw"] and "hunter2" not in json_text(doc)
    saved = tmp_path / "blanked.json"
    saved.write_text(json_text(doc))
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.check_output(["cibadmin", "--empty"], universal_newlines=True))
    r = xenha("restore", str(saved), "--yes", env=dict(os.environ, CIB_file=str(cib)))
    assert r.returncode == 1 and "restoring it would break them" in r.stderr, r.stderr
    bad = tmp_path / "bad.json"
    for text in ("{not json", '{"format": "xenha-backup/1", "configuration": "<configuration/>"}'):
        bad.write_text(text)
        r = xenha("restore", str(bad))
        assert r.returncode == 1 and r.stderr.startswith("xenha: error: "), r.stderr
        assert "is not a xenha backup" in r.stderr and "Traceback" not in r.stderr


def json_text(doc):
    import json

    return json.dumps(doc)
