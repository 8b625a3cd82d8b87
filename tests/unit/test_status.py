"""`xenha status`: the view from crm_mon and the CIB (as a real lab printed them:
tests/data/status/), the pool read through the simulator, the verdict and its exit codes,
the JSON against its schema, the text within 80 columns."""

import json
import os

import jsonschema
import pytest

from tests.conftest import REPO, run_xenha
from xenha import status
from xenha.errors import XenhaError
from xenha.lab.pool.testing import running_pool

DATA = os.path.join(REPO, "tests", "data", "status")


def data(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read()


def cluster(mon="crm_mon-settled.xml", edit=None):
    text = data(mon)
    return status.cluster_view(edit(text) if edit else text, data("cib-configuration.xml"))


def pool_as_placed(view, moved=None):
    """The pool as the lab's was: each VM where the cluster runs it, but ``moved``."""
    vms = {}
    for rid, key in view["vm_resources"].items():
        node = [n for n, role in view["running"][rid] if role == "Started"][0]
        vms[key] = {"name": rid[3:], "power": "Running", "host": (moved or {}).get(rid, node)}
    hosts = [
        {
            "name": n["name"],
            "uuid": "uuid-" + n["name"],
            "address": "198.18.0.1%d" % i,
            "enabled": True,
            "maintenance": False,
            "live": True,
            "memory_free": 40 << 30,
        }
        for i, n in enumerate(view["nodes"], 1)
    ]
    return {"master": "host1", "hosts": hosts, "vms": vms}


def view_of(cluster_view=None, pool=None, cluster_error=None, pool_error=None):
    def read_cluster():
        if cluster_error:
            raise XenhaError(cluster_error)
        return cluster_view

    def read_pool(settings, keys):
        if pool_error:
            raise XenhaError(pool_error)
        if cluster_view is not None:
            assert sorted(keys) == sorted(cluster_view["vm_resources"].values())
        return pool

    view = status.gather(read_cluster, read_pool)
    jsonschema.validate(json.loads(json.dumps(view)), status.SCHEMA)
    assert all(len(line) <= 80 for line in status.render(view).splitlines())
    return view


def test_the_settled_lab_reads_as_crm_mon_and_the_cib_say():
    c = cluster()
    assert (c["quorate"], c["dc"]) == (True, "host1")
    assert [n["name"] for n in c["nodes"] if n["online"]] == ["host1", "host2", "host3"]
    assert sorted(c["vm_resources"]) == ["vm-vm1", "vm-vm2", "vm-vm3", "vm-vm4"]
    assert ("host1", "Promoted") in c["running"]["pool-master"]
    assert c["failed_actions"] == [] and c["failcounts"] == {} and c["fences"] == []
    assert "xapi_password_file" in c["master_params"]  # a path, never a secret


def test_all_well_is_ok_and_exits_0():
    c = cluster()
    view = view_of(c, pool_as_placed(c))
    assert (view["verdict"], view["problems"], status.exit_code(view)) == ("ok", [], 0)
    text = status.render(view)
    assert "xenha status: OK" in text and "vm-vm2" in text


def test_a_vm_moved_outside_the_cluster_is_drift_a_warning():
    c = cluster()
    view = view_of(c, pool_as_placed(c, moved={"vm-vm2": "host3"}))
    assert view["verdict"] == "warning" and status.exit_code(view) == 1
    assert [p["what"] for p in view["problems"]] == [
        "vm-vm2 runs on host3 per the pool, on host2 per the cluster (moved outside the cluster?)"
    ]


def test_a_failed_monitor_shows_its_reason_and_the_fail_count():
    c = cluster("crm_mon-failed-monitor.xml")
    view = view_of(c, pool_as_placed(c))
    assert c["failcounts"] == {"vm-vm2": {"host2": "1"}}
    (problem,) = view["problems"]
    assert problem["severity"] == "warning"
    assert problem["what"].startswith("failed action vm-vm2_monitor_30000 on host2: not running")
    assert "host2:1" in status.render(view)


def test_a_source_that_does_not_answer_is_cannot_tell_never_empty():
    view = view_of(cluster_error="crm_mon failed (rc 102): Not connected")
    assert view["verdict"] == "critical" and status.exit_code(view) == 2
    assert view["problems"][0]["what"].startswith("cannot tell: the cluster does not answer")
    c = cluster()
    view = view_of(c, pool_error="the XAPI master does not answer")
    assert "cannot tell: the pool does not answer" in view["problems"][0]["what"]
    assert [vm["pacemaker"] for vm in view["vms"]] == [["host1"], ["host2"], ["host3"], ["host1"]]


def node3(old, new):
    """An edit of host3's node line in crm_mon's output."""
    line = '<node name="host3" id="3" online="true" standby="false" standby_onfail="false" '
    return lambda text: text.replace(line + old, line.replace(*new) + old)


UNCLEAN = ('online="true"', 'online="false"')


@pytest.mark.parametrize(
    "edit,severity,what",
    [
        (lambda x: x.replace('with_quorum="true"', 'with_quorum="false"'), "critical", "quorum"),
        (node3("", ('standby="false"', 'standby="true"')), "warning", "node host3 is in standby"),
        (
            lambda x: node3("", UNCLEAN)(x).replace(
                'pending="false" unclean="false" health="green" feature_set="3.16.1" '
                'shutdown="false" expected_up="true" is_dc="false" resources_running="2"',
                'pending="false" unclean="true" health="green" feature_set="3.16.1" '
                'shutdown="false" expected_up="true" is_dc="false" resources_running="2"',
            ),
            "critical",
            "node host3 is unclean",
        ),
    ],
)
def test_the_clusters_troubles_are_judged(edit, severity, what):
    c = cluster(edit=edit)
    view = view_of(c, pool_as_placed(cluster()))
    assert any(p["severity"] == severity and what in p["what"] for p in view["problems"]), view[
        "problems"
    ]


def test_a_host_in_maintenance_mode_and_a_stopped_vm():
    c = cluster()
    pool = pool_as_placed(c)
    pool["hosts"][1]["maintenance"] = True
    pool["vms"][c["vm_resources"]["vm-vm4"]]["power"] = "Halted"
    view = view_of(c, pool)
    whats = [p["what"] for p in view["problems"]]
    assert whats[0] == "vm-vm4 is Halted in the pool"  # critical first
    assert "host host2 is in maintenance mode" in whats


def test_the_pool_is_read_through_xapi():
    with running_pool(hosts=3, vms=2) as sim:
        settings = status.settings_of(
            {
                "xapi_url": sim.master.url,
                "xapi_password_file": sim.password_file,
                "xapi_ca_file": sim.ca_file,
            }
        )
        pool = status.read_pool(settings, sim.vms + ["no-such-vm"])
    assert pool["master"] == "host1"
    assert [h["name"] for h in pool["hosts"]] == ["host1", "host2", "host3"]
    assert all(h["enabled"] and h["live"] and not h["maintenance"] for h in pool["hosts"])
    assert {v["power"] for k, v in pool["vms"].items() if k != "no-such-vm"} == {"Running"}
    assert "no VM named 'no-such-vm'" in pool["vms"]["no-such-vm"]["error"]


def test_the_command_without_a_cluster_says_it_cannot_tell_and_exits_2():
    r = run_xenha("status")
    assert r.returncode == 2, r
    assert "critical: cannot tell: the cluster does not answer" in r.stdout
    assert "Traceback" not in r.stderr
    r = run_xenha("status", "--json")
    jsonschema.validate(json.loads(r.stdout), status.SCHEMA)
    assert run_xenha("status", "--help").returncode == 0
