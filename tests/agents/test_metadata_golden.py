"""Every shipped OCF and fence agent's metadata, as the installed agent prints it for
Pacemaker, is its golden file tests/data/metadata/<agent>.xml (as fence-agents keeps
tests/data/metadata), so a change to an agent's metadata shows as a diff in review. That the
metadata is valid: test_ocf_metadata.py and tests/unit/test_fencing.py.

After an intended change, regenerate with
``XENHA_UPDATE_GOLDEN=1 .venv/bin/pytest tests/agents/test_metadata_golden.py`` and review
the diff.
"""

import difflib
import os

import pytest

from tests.conftest import REPO
from xenha import install

GOLDEN = os.path.join(REPO, "tests", "data", "metadata")
AGENTS = [
    a
    for a in install.shipped_agents(lab=True)  # the test-only fence_xenha_ssh too
    if a.relpath.startswith((install.OCF_DIR, install.FENCE_DIR))
]
REGENERATE = "XENHA_UPDATE_GOLDEN=1 .venv/bin/pytest tests/agents/test_metadata_golden.py"


def name(agent):
    return os.path.basename(agent.relpath)


@pytest.mark.parametrize("agent", AGENTS, ids=name)
def test_metadata_is_the_golden_file(metadata, agent):
    text = metadata(agent)
    path = os.path.join(GOLDEN, name(agent) + ".xml")
    if os.environ.get("XENHA_UPDATE_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    if not os.path.exists(path):
        message = "%s has no golden metadata %s; write it with %s"
        pytest.fail(message % (name(agent), path, REGENERATE), pytrace=False)
    with open(path) as f:
        golden = f.read()
    if text != golden:
        diff = difflib.unified_diff(
            golden.splitlines(True), text.splitlines(True), os.path.relpath(path, REPO), "now"
        )
        pytest.fail(
            "the metadata of %s is not its golden file:\n%s\nIf the change is intended, "
            "regenerate with %s and review the diff." % (name(agent), "".join(diff), REGENERATE),
            pytrace=False,
        )


def test_every_golden_file_belongs_to_a_shipped_agent():
    stale = set(os.listdir(GOLDEN)) - {name(a) + ".xml" for a in AGENTS}
    assert not stale, "golden metadata of agents not shipped: %s" % ", ".join(sorted(stale))
