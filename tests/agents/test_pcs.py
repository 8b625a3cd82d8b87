"""pcs (Debian 12: 0.11) runs the generated pcs script into the crmsh text's configuration,
and describes every agent we ship.

pcs checks resources against their agents' metadata, which Pacemaker's tools read only from
their compiled-in directories (/usr/lib/ocf/resource.d, /usr/sbin). So each pcs command runs
in a mount namespace of its own where the agents the session installed (``installed``) are
overlaid on those directories: pcs sees them, the machine is left as it is.
"""

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from tests.agents.overlay import on_node
from tests.unit.test_crm_golden import CASES, GOLDEN, canonical, crmsh_load, rendered
from xenha import model
from xenha.crm import simulate
from xenha.install import FENCE_DIR, OCF_DIR, shipped_agents

pytestmark = pytest.mark.skipif(
    shutil.which("pcs") is None or os.geteuid() != 0,
    reason="needs pcs and root (a mount namespace to show pcs the installed agents)",
)

COMMAND = 'pcs -f "$cib" '
# The script's other lines, not run here: the shell's own, and the two pcs commands that
# need a running cluster. `pcs cluster cib` copies the live CIB (an empty one listing the
# nodes stands in for it: set_nodes); `pcs cluster cib-push` replaces the live
# configuration with the file (the file is checked instead).
NOT_RUN = [
    "set -e",
    "cib=$(mktemp)",
    "trap 'rm -f \"$cib\"' EXIT",
    'pcs cluster cib "$cib"',
    'pcs cluster cib-push "$cib" --config',
]


@pytest.fixture(scope="module")
def pcs(installed):
    """``pcs(line, **env)``: the shell command line run where pcs sees the installed agents."""

    def run(line, **env):
        return on_node(["sh", "-c", line], [installed], dict(os.environ, **env), subprocess.PIPE)

    return run


def set_nodes(cib, names):
    """List the nodes ``names`` (corosync's nodeids) in the CIB file, as `pcs cluster cib`
    copies it from a started cluster: pcs refuses a fencing level for a node it does not
    find there. Without them again, crm_verify checks the configuration alone (nodes
    without a status section are unclean to it)."""
    tree = ET.parse(cib)
    nodes = tree.find("configuration/nodes")
    nodes.clear()
    for nodeid, name in enumerate(names, 1):
        ET.SubElement(nodes, "node", id=str(nodeid), uname=name)
    tree.write(cib)


@pytest.mark.skipif(shutil.which("crm") is None, reason="crmsh (crm) is not installed")
@pytest.mark.parametrize("case", CASES)
@pytest.mark.slow
def test_pcs_script_builds_the_configuration_of_the_crm_text(pcs, case, tmp_path):
    lines = [line for line in rendered(case, "pcs").splitlines() if not line.startswith("#")]
    assert [line for line in lines if not line.startswith(COMMAND)] == NOT_RUN
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.check_output(["cibadmin", "--empty"], universal_newlines=True))
    nodes = model.load(os.path.join(GOLDEN, case + ".yaml"))["cluster"]["nodes"]
    set_nodes(cib, [n["name"] for n in nodes])
    for line in lines:
        if line.startswith(COMMAND):
            r = pcs(line, cib=str(cib))
            assert r.returncode == 0, "%s\n%s" % (line, r.stderr)
            assert "Deprecation" not in r.stderr, "%s\n%s" % (line, r.stderr)
    set_nodes(cib, [])
    assert simulate.verify(str(cib)) == []
    assert canonical(str(cib)) == canonical(str(crmsh_load(rendered(case, "crm"), tmp_path)))


AGENTS = [a for a in shipped_agents(lab=True) if a.relpath.startswith((OCF_DIR, FENCE_DIR))]
# A parameter in `pcs ... describe` output: "  name:", "  name (required):", ...
DESCRIBED = re.compile(r"^  (\S+?)(?: \([^)]*\))*: ", re.M)
# What pcs leaves out of a fence agent's parameters on purpose: command-line-only options.
PCS_HIDES = {"help", "version"}


@pytest.mark.parametrize("agent", AGENTS, ids=lambda a: os.path.basename(a.relpath))
def test_pcs_describes_every_parameter_of_the_agent(pcs, metadata, agent):
    provider, name = agent.relpath.split("/")[-2:]
    declared = {p.get("name") for p in ET.fromstring(metadata(agent)).iter("parameter")}
    if agent.relpath.startswith(OCF_DIR):
        name = "ocf:%s:%s" % (provider, name)
        r = pcs("pcs resource describe %s --full" % name)
    else:
        r = pcs("pcs stonith describe %s --full" % name)
        declared -= PCS_HIDES
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(name + " - "), r.stdout
    assert declared <= set(DESCRIBED.findall(r.stdout)), r.stdout
