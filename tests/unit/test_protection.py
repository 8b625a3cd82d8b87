"""`xenha vm protect|unprotect|follow` and `config load` on a CIB file (Pacemaker's and
crmsh's own tools, CIB_file) against the XAPI simulator: the pool's flags lead, the
description is kept in the CIB, a new VM gets its resource without anything else
changing, an unprotected VM loses its resource, an invalid flag is mailed once."""

import json
import os
import subprocess
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml

from tests.smtp_sink import smtp_server
from xenha import protection
from xenha.cli.protection import FOLLOW_SCHEMA
from xenha.lab.pool.testing import running_pool

WEB = "6a1c58a2-0d4e-4c61-9d8e-3c2f1e0b7a11"
DB = "0f5e2b7c-9a64-4b1e-8c3d-2d7a9e4b6c22"
NEW = "3b9d7e21-5c4a-4f8e-9a1b-7e6d5c4b3a21"
STATE = {
    "hosts": [{"name": "xs1"}, {"name": "xs2"}],
    "vms": [
        {"name": "web", "uuid": WEB, "host": "xs1"},
        {"name": "db", "uuid": DB, "host": "xs2"},
        {"name": "new app", "uuid": NEW, "host": "xs1"},
        {"name": "a-template", "is_a_template": True},
    ],
}
FIELD = "ha-lizard-enabled"


@pytest.fixture()
def sim():
    with running_pool(state=STATE) as s:
        yield s


@pytest.fixture()
def inbox():
    with smtp_server() as box:
        yield box


def description(sim, tmp_path, inbox=None, **pool):
    desc = {
        "cluster": {
            "name": "c",
            "nodes": [
                {"name": n, "address": "198.18.0.1%d" % i, "fencing": [{"device": "meatware"}]}
                for i, n in enumerate(("xs1", "xs2"), 1)
            ],
        },
        "pool": dict({"xapi": {"url": sim.master.url, "password_file": sim.password_file}}, **pool),
        "vms": [{"vm": "web", "priority": 10}, {"vm": DB, "name": "db", "start_after": ["web"]}],
    }
    if inbox is not None:
        desc["alerts"] = {
            "recipients": ["ops@example.com"],
            "smtp": {"server": "127.0.0.1", "port": inbox.port, "from": "ha@example.com"},
        }
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump(desc, sort_keys=False))
    return str(path)


@pytest.fixture()
def loaded(xenha, sim, tmp_path):
    """A description loaded into an empty CIB file; the environment that points at it."""
    cib = tmp_path / "cib.xml"
    empty = subprocess.check_output(["cibadmin", "--empty"], universal_newlines=True)
    cib.write_text(empty.replace("<cib ", '<cib have-quorum="1" ', 1))  # a quorate partition
    env = dict(os.environ, CIB_file=str(cib))

    def load(**kw):
        r = xenha("config", "load", description(sim, tmp_path, **kw), "--force", "--yes", env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        return r

    return cib, env, load


def flags(sim):
    return {u: sim.record("VM", u)["other_config"].get(FIELD) for u in (WEB, DB, NEW)}


def vm_resources(cib):
    root = ET.parse(str(cib)).getroot()
    return {
        p.get("id"): p.find("instance_attributes/nvpair[@name='vm']").get("value")
        for p in root.iter("primitive")
        if p.get("type") == "xen-vm"
    }


def test_load_stores_the_description_and_makes_the_pool_flags_agree(loaded, sim):
    cib, env, load = loaded
    r = load()
    assert "description stored in the CIB" in r.stdout
    assert "vm-web: ha-lizard-enabled=true in the pool (it was None)" in r.stdout
    assert flags(sim) == {WEB: "true", DB: "true", NEW: None}
    root = ET.parse(str(cib)).getroot()
    assert yaml.safe_load(protection.stored(root))["vms"][0] == {"vm": "web", "priority": 10}
    assert protection.property_set(root, "cib-bootstrap-options")["stop-orphan-resources"] == (
        "false"
    )
    again = load()  # the same file again: nothing stored, nothing flagged
    assert "description stored" not in again.stdout and "in the pool" not in again.stdout


def test_protect_adds_only_the_new_vm_and_unprotect_takes_it_away(xenha, loaded, sim):
    cib, env, load = loaded
    load()
    before = ET.parse(str(cib)).getroot()
    web_before = ET.tostring(before.find(".//primitive[@id='vm-web']"))
    r = xenha("vm", "protect", "new app", env=env)  # a name with a space, as in XenCenter
    assert r.returncode == 0, r.stdout + r.stderr
    assert "new app (%s): ha-lizard-enabled=true in the pool" % NEW in r.stdout
    assert "vm-new-app: protected (the pool's choice)" in r.stdout
    assert vm_resources(cib) == {"vm-web": WEB, "vm-db": DB, "vm-new-app": NEW}
    root = ET.parse(str(cib)).getroot()
    assert ET.tostring(root.find(".//primitive[@id='vm-web']")) == web_before  # untouched
    order = root.find(".//rsc_order[@id='pool-master-before-vms']")
    assert "vm-new-app" in [ref.get("id") for ref in order.iter("resource_ref")]
    stored = yaml.safe_load(protection.stored(root))
    assert [vm["vm"] for vm in stored["vms"]] == [DB, NEW, WEB]  # the pool's order, by name
    assert {"vm": WEB, "name": "web", "priority": 10} in stored["vms"]  # settings kept

    r = xenha("config", "get", env=env)
    assert r.returncode == 0 and yaml.safe_load(r.stdout) == stored
    assert "(pool.yaml, loaded " in r.stderr and "; then xenha vm protect, 20" in r.stderr

    r = xenha("vm", "protect", "vm-new-app", env=env)
    assert r.returncode == 0 and "the cluster already agreed" in r.stdout

    r = xenha("vm", "unprotect", "web", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "vm-web: no longer protected; it keeps running" in r.stdout
    assert "start_after web dropped (not protected)" in r.stdout
    assert vm_resources(cib) == {"vm-db": DB, "vm-new-app": NEW}
    assert flags(sim)[WEB] == "false"
    root = ET.parse(str(cib)).getroot()
    refs = [ref.get("id") for ref in root.iter("resource_ref")]
    assert "vm-web" not in refs and root.find(".//rsc_order[@first='vm-web']") is None
    check = subprocess.run(["crm_verify", "-L"], env=env, stderr=subprocess.PIPE)
    assert check.returncode == 0, check.stderr


def test_follow_adds_what_xencenter_flagged_and_mails_an_invalid_flag_once(
    xenha, loaded, sim, inbox
):
    cib, env, load = loaded
    load(inbox=inbox)
    sim.set_field("VM", NEW, "other_config", {FIELD: "true"})  # as XenCenter's custom field
    sim.set_field("VM", DB, "other_config", {FIELD: "yes"})
    r = xenha("vm", "follow", "--json", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    did = json.loads(r.stdout)
    assert did["added"] == ["vm-new-app"] and did["released"] == ["vm-db"]
    assert did["invalid"] == [{"vm": DB, "name": "db", "value": "yes"}] and did["mailed"] == [DB]
    jsonschema.validate(did, FOLLOW_SCHEMA)
    assert len(inbox.mails) == 1
    subject = " ".join(inbox.subjects()[0].split())  # unfolded
    assert "VM db (%s): ha-lizard-enabled='yes' is neither true nor false" % DB in subject
    r = xenha("vm", "follow", "--json", env=env)  # the same value: no second mail
    assert json.loads(r.stdout)["mailed"] == [] and len(inbox.mails) == 1
    sim.set_field("VM", DB, "other_config", {FIELD: "true"})
    r = xenha("vm", "follow", env=env)
    assert "vm-db: protected (the pool's choice)" in r.stdout
    assert protection.property_set(ET.parse(str(cib)).getroot(), protection.NOTED) is None


def test_refusals_are_clear(xenha, loaded, sim, tmp_path):
    cib, env, load = loaded
    r = xenha("vm", "follow", env=env)
    assert r.returncode == 1 and "holds no description" in r.stderr
    load(protect="all")
    r = xenha("vm", "protect", "db", env=env)
    assert r.returncode == 1 and "the description protects every VM" in r.stderr
    r = xenha("vm", "follow", "--json", env=env)  # protect: all takes the new VM in
    assert json.loads(r.stdout)["added"] == ["vm-new-app"]
    subprocess.run(
        ["crm_attribute", "--type", "crm_config", "--name", "maintenance-mode", "--update", "true"],
        env=env,
        check=True,
    )
    r = xenha("vm", "follow", env=env)
    assert r.returncode == 1 and "not following now: maintenance is on" in r.stderr
    r = xenha("vm", "unprotect", "nothing-of-that-name", env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_unreferencing_takes_a_resource_out_of_every_constraint_and_leaves_them_valid():
    root = ET.fromstring(
        "<cib><configuration><constraints>"
        '<rsc_location id="a-prefers" rsc="vm-a" node="n1" score="50"/>'
        '<rsc_order id="b-after-a" first="vm-a" then="vm-b"/>'
        '<rsc_order id="master-first"><resource_set id="m0"><resource_ref id="pm"/>'
        '</resource_set><resource_set id="m1"><resource_ref id="vm-a"/>'
        '<resource_ref id="vm-b"/></resource_set></rsc_order>'
        '<rsc_order id="only-a"><resource_set id="o0"><resource_ref id="pm"/></resource_set>'
        '<resource_set id="o1"><resource_ref id="vm-a"/></resource_set></rsc_order>'
        '<rsc_order id="three"><resource_set id="t0"><resource_ref id="pm"/></resource_set>'
        '<resource_set id="t1"><resource_ref id="vm-a"/></resource_set>'
        '<resource_set id="t2"><resource_ref id="vm-b"/></resource_set></rsc_order>'
        '<rsc_location id="b-only" rsc="vm-b" node="n1" score="50"/>'
        "</constraints></configuration></cib>"
    )
    assert protection.unreferencing(root, "vm-a") == [
        "//constraints/rsc_location[@id='a-prefers']",
        "//constraints/rsc_order[@id='b-after-a']",
        "//constraints/rsc_order[@id='master-first']/resource_set[@id='m1']/resource_ref[@id='vm-a']",
        "//constraints/rsc_order[@id='only-a']",
        "//constraints/rsc_order[@id='three']/resource_set[@id='t1']",
    ]


def test_the_service_reminds_by_mail_when_maintenance_goes_on_then_hourly(
    xenha, loaded, sim, inbox, monkeypatch
):
    import time

    from xenha import maintenance
    from xenha.cli.protection import _remind
    from xenha.operate.verbs import Verbs

    cib, env, load = loaded
    load(inbox=inbox)
    monkeypatch.setenv("CIB_file", str(cib))
    verbs = Verbs()
    now = time.time()

    def remind():
        root = ET.parse(str(cib)).getroot()
        _remind(verbs, root, ET.tostring(root, encoding="unicode"), lambda line: None)

    remind()  # maintenance off: nothing
    assert inbox.mails == []
    verbs.put_property_set(maintenance.element(now + 7200, "disk swap", "root@xs1"), False)
    remind()
    remind()  # within the hour: no second mail
    assert len(inbox.mails) == 1
    subject = " ".join(inbox.subjects()[0].split())
    assert "maintenance is on until" in subject and "(disk swap, by root@xs1)" in subject
    root = ET.parse(str(cib)).getroot()
    assert maintenance.reminder(root, now + 3700) is not None  # an hour later: due again
    verbs.remove_property_set(maintenance.SET_ID)
    remind()  # off again: the record of the reminder goes too
    root = ET.parse(str(cib)).getroot()
    assert protection.property_set(root, maintenance.REMINDED) is None
