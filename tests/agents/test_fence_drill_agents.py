"""`xenha fence test` with the real fence_xenha_ilo (method=ipmi, as installed) against the
lab IPMI BMC: the drill reads the rack's power and switches nothing."""

import json
import os
from pathlib import Path

import pytest

from xenha import fence_drill, install, model
from xenha.crm import render
from xenha.lab.power import testing

MACHINES = ["node1", "node2"]  # the rack (conftest.py: rack)


@pytest.fixture(scope="module")
def bmc(rack):
    with testing.ipmi_bmc(rack, "node1") as bmc:
        yield bmc


def cib(bmc):
    text = """\
cluster:
  name: drill
  nodes:
    - name: node1
      address: 198.18.0.11
      fencing:
        - {device: ilo, method: ipmi, ip: 127.0.0.1, ipport: "%d", username: %s,
           password_file: %s}
        - {device: meatware}
    - name: node2
      address: 198.18.0.12
      fencing: [{device: meatware}]
vms: [c3c3c3c3-0000-4000-8000-000000000001]
""" % (bmc.port, bmc.user, bmc.password_file)
    return render.render(model.loads(text), "xml")


def test_the_drill_runs_the_real_agent_and_powers_nothing(installed, bmc):
    agents = os.path.join(installed, install.FENCE_DIR)
    before = Path(bmc.rack.path).read_text()
    result = fence_drill.probe("node1", cib(bmc), agent_dir=agents, members={"node1", "node2"})
    assert Path(bmc.rack.path).read_text() == before  # nothing switched, nothing pending
    assert [lv["verdict"] for lv in result["levels"]] == ["works", "manual"]
    ilo = result["levels"][0]["devices"][0]
    assert (ilo["ok"], ilo["state"], ilo["exit_code"]) == (True, "on", 0), ilo
    assert fence_drill.exit_code(result) == 0
    assert bmc.password not in json.dumps(result) + fence_drill.render(result)

    bmc.rack.configure("machines", "node1", state="off")  # cut behind the cluster's back
    try:
        result = fence_drill.probe("node1", cib(bmc), agent_dir=agents, members={"node1"})
    finally:
        bmc.rack.configure("machines", "node1", state="on")
    ilo = result["levels"][0]["devices"][0]
    assert (ilo["ok"], ilo["state"]) == (False, "off")
    assert "plug/port mapping" in ilo["message"] and fence_drill.exit_code(result) == 2


def test_a_wrong_password_is_the_agents_error(installed, bmc, tmp_path):
    wrong = testing.secret_file(str(tmp_path), "not-the-password")
    text = cib(bmc).replace(bmc.password_file, wrong)
    agents = os.path.join(installed, install.FENCE_DIR)
    result = fence_drill.probe("node1", text, agent_dir=agents, members={"node1"}, timeout=20)
    ilo = result["levels"][0]["devices"][0]
    assert not ilo["ok"] and ilo["exit_code"] == 1 and ilo["stderr"], ilo
    assert bmc.power == "on"
