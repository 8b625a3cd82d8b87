"""docs/commands/: one page per operator command group, written from the parser, so the
pages and `--help` never disagree. After an intended change:
``XENHA_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_command_pages.py``."""

import os

import pytest

from tests.conftest import REPO
from xenha.cli import main, pages

PAGES = os.path.join(REPO, "docs", "commands")
GROUPS = (
    "status",
    "node",
    "vm",
    "master",
    "maintenance",
    "check",
    "config",
    "backup",
    "restore",
    "fence",
    "alert",
    "log",
    "completion",
)
WRITTEN = pages.pages(main.build_parser(), GROUPS)


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_each_page_is_what_the_parser_says(name):
    path = os.path.join(PAGES, name)
    if os.environ.get("XENHA_UPDATE_GOLDEN"):
        os.makedirs(PAGES, exist_ok=True)
        with open(path, "w") as f:
            f.write(WRITTEN[name])
    with open(path) as f:
        assert f.read() == WRITTEN[name], "regenerate: XENHA_UPDATE_GOLDEN=1 pytest " + __file__


def test_every_group_has_a_page_and_the_index_links_it():
    assert sorted(WRITTEN) == sorted(g + ".md" for g in GROUPS)
    with open(os.path.join(REPO, "docs", "index.md")) as f:
        index = f.read()
    for name in WRITTEN:
        assert "(commands/%s)" % name in index, name
    for text in WRITTEN.values():
        assert "usage: xenha " in text
