"""What the generator builds from a description (xenha.crm.plan), beyond the golden cases."""

import os

from tests.unit.test_crm_golden import GOLDEN
from xenha import model
from xenha.crm import plan, render, simulate

TWO_NODE = """\
cluster:
  name: pair
  nodes:
    - name: s1
      address: 198.18.0.41
      fencing:
        - {device: ilo, ip: 198.18.4.41, username: fence, password_file: /etc/xenha/ilo.secret}
        - {device: meatware}
    - name: s2
      address: 198.18.0.42
      fencing: [{device: ilo, ip: 198.18.4.42, username: fence, password_file: /etc/xenha/s}]
quorum: {mode: two_node}
fencing: {race_delay: 20s}
vms: [c3c3c3c3-0000-4000-8000-000000000001]
"""


def test_two_nodes_without_an_arbiter_delay_the_fence_race(tmp_path):
    """Only quorum two_node races to fence; the node holding the master is fenced last."""
    cfg = plan.build(model.loads(TWO_NODE))
    assert ("priority-fencing-delay", "20s") in cfg.properties
    master_clone = [c for c in cfg.clones if c.id == plan.MASTER_CLONE][0]
    assert ("priority", "1") in master_clone.meta
    cib = tmp_path / "cib.xml"
    cib.write_text(render.render(model.loads(TWO_NODE), "xml"))
    assert simulate.verify(str(cib)) == []
    qdevice = plan.build(model.load(os.path.join(GOLDEN, "two-node-qdevice.yaml")))
    assert "priority-fencing-delay" not in dict(qdevice.properties)
