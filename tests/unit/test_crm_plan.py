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


def primitive_params(text, rid):
    (prim,) = [p for p in plan.build(model.loads(text)).primitives if p.id == rid]
    return dict(prim.params)


def test_the_pool_masters_graces_go_to_its_primitive_only_in_whole_seconds():
    text = TWO_NODE + "pool:\n  master: {xapi_restart_grace: 3m, isolation_grace: 45s}\n"
    master = primitive_params(text, plan.MASTER)
    assert (master["xapi_restart_grace"], master["isolation_grace"]) == ("180", "45")
    vm = primitive_params(text, "vm-c3c3c3c3-0000-4000-8000-000000000001")
    assert not {"xapi_restart_grace", "isolation_grace"} & set(vm)


def test_graces_left_at_the_agents_defaults_change_nothing():
    """Unset, or written as the agent's own default (its seconds, here with a unit), a
    grace is left out: the same CIB."""
    from xenha.crm import agents

    defaults = agents.MASTER_DEFAULTS
    given = "pool:\n  master: {xapi_restart_grace: %ss, isolation_grace: %ss}\n" % (
        defaults["xapi_restart_grace"],
        defaults["isolation_grace"],
    )
    unset = render.render(model.loads(TWO_NODE), "xml")
    assert render.render(model.loads(TWO_NODE + given), "xml") == unset
    master = primitive_params(TWO_NODE + "pool:\n  master: {isolation_grace: 7}\n", plan.MASTER)
    assert master["isolation_grace"] == "7" and "xapi_restart_grace" not in master


def test_the_examples_commented_graces_are_the_agents_defaults():
    """`xenha config init` shows pool.master commented out; uncommented, it is valid and
    changes nothing, so the example never pins a default the agent no longer has."""
    example = os.path.join(os.path.dirname(model.__file__), "example.yaml")
    with open(example) as f:
        text = f.read()
    uncommented = text.replace("  # master:", "  master:").replace("  #   ", "    ")
    assert uncommented != text
    graces = model.loads(uncommented)["pool"]["master"]
    assert None not in graces.values()
    assert render.render(model.loads(uncommented), "xml") == render.render(model.loads(text), "xml")


def test_a_device_with_its_own_plug_is_told_it_is_the_host_argument():
    """The fencer adds the target as its host argument (port, on Pacemaker 2.1, for an
    agent that declares it) unless the CIB sets that very parameter: with plug=3 alone
    the agent would also get port=NODE and take whichever line came last. So a device
    with a plug says pcmk_host_argument=plug; one without leaves the fencer's default."""
    cfg = plan.build(model.load(os.path.join(GOLDEN, "three-node-pdu.yaml")))
    for prim in cfg.primitives:
        params = dict(prim.params)
        if prim.cls == "stonith" and "plug" in params:
            assert params["pcmk_host_argument"] == "plug", prim.id
        elif prim.cls == "stonith":
            assert "pcmk_host_argument" not in params, prim.id
    assert any("plug" in dict(p.params) for p in cfg.primitives if p.cls == "stonith")
