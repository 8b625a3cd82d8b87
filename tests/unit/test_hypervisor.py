"""xenha.hypervisor: list_domains' output read exactly as the real tool prints it
(xen-api ocaml/xenopsd/list_domains/list_domains.ml, table.ml: every cell right-aligned to
its column, ``" | "`` between cells, six state positions D S P B R H), and the three
answers. The outputs below are written by hand in that format, not by our printer."""

import os
import stat

import pytest

from xenha import hypervisor
from xenha.deadline import Deadline
from xenha.hypervisor import ABSENT, PRESENT, UNKNOWN
from xenha.lab.pool import list_domains as lab_tool

VM = "6a1c58a2-0d4e-4c61-9d8e-3c2f1e0b7a11"
OTHER = "0f5e2b7c-9a64-4b1e-8c3d-2d7a9e4b6c22"
DOM0 = "0d3d0e4c-2f3a-4b51-9a44-5e3b8f1d2c10"

HEADER = "id |                                 uuid |  state\n"


def output(*rows):
    """A list_domains output with a two-character id column: ``rows`` are (id, uuid, state)."""
    return HEADER + "".join("%2s | %s | %s\n" % row for row in rows)


def answer(text, vm=VM):
    return hypervisor.judge(hypervisor.parse(text), vm)


RUNNING = output(("0", DOM0, "    R "), ("7", VM, "   B H"), ("12", OTHER, "    RH"))


def test_a_running_domain_is_present_and_another_vm_absent():
    a = answer(RUNNING)
    assert (a.state, a.domain, a.paused) == (PRESENT, hypervisor.Domain(7, VM, "BH"), False)
    assert answer(RUNNING, "11111111-2222-4333-8444-555555555555").state == ABSENT
    assert answer(RUNNING, VM.upper()).state == PRESENT  # a UUID in capitals is the same VM


def test_the_rows_are_read_by_their_cells():
    rows = hypervisor.parse(RUNNING)
    assert rows == [
        hypervisor.Domain(0, DOM0, "R"),
        hypervisor.Domain(7, VM, "BH"),
        hypervisor.Domain(12, OTHER, "RH"),
    ]


def test_a_wider_id_column_and_no_trailing_spaces_read_alike():
    text = (
        " id |                                 uuid |  state\n  0 | %s |     R\n123 | %s |    B H\n"
    ) % (DOM0, VM)
    assert answer(text).domain == hypervisor.Domain(123, VM, "BH")


def test_paused_counts_as_present():
    a = answer(output(("0", DOM0, "    R "), ("7", VM, "  P  H")))
    assert a.state == PRESENT and a.paused and "paused" in a.reason


def test_a_shut_down_domain_not_yet_destroyed_is_still_present():
    assert answer(output(("7", VM, " S   H"))).state == PRESENT


def test_a_dying_domain_of_the_vm_cannot_tell():
    a = answer(output(("0", DOM0, "    R "), ("7", VM, "D    H")))
    assert a.state == UNKNOWN and "dying" in a.reason


def test_a_live_domain_beside_a_dying_one_is_present():
    assert answer(output(("7", VM, "D    H"), ("9", VM, "   B H"))).state == PRESENT


@pytest.mark.parametrize("suffix", ["000000000000", "000000000001"])
def test_a_migration_id_of_the_vm_cannot_tell(suffix):
    """xenops_server.ml tmp_uuid_of: the first 24 characters of the UUID, then 0...0 (the
    source once saved) or 0...1 (the destination until its rename)."""
    temp = VM[:24] + suffix
    a = answer(output(("0", DOM0, "    R "), ("8", temp, "  P  H")))
    assert a.state == UNKNOWN and "migrating" in a.reason and temp in a.reason
    assert answer(output(("8", temp, "  P  H")), OTHER).state == ABSENT  # not OTHER's


def test_a_domain_being_destroyed_cannot_tell_until_it_is_dying():
    """domain.ml destroy: the handle becomes deadbeef-dead-beef-dead-beef0000<domid hex>
    before the domain dies; until then it may have been this VM."""
    handle = "deadbeef-dead-beef-dead-beef0000000a"
    a = answer(output(("0", DOM0, "    R "), ("10", handle, "   B H")))
    assert a.state == UNKNOWN and "being destroyed" in a.reason
    assert answer(output(("0", DOM0, "    R "), ("10", handle, "D    H"))).state == ABSENT


def test_only_dom0_is_absent():
    assert answer(output(("0", DOM0, "    R "))).state == ABSENT


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        'Fatal error: exception Failure("VM handle for domain 3 is an invalid uuid")\n',
        "id | uuid\n 0 | %s\n" % DOM0,  # other columns (-minimal, -memory): not ours
        " 0 | %s |     R \n" % DOM0,  # rows without the header
        HEADER + " 0 | %s |     R  | 1024\n" % DOM0,
        HEADER + " x | %s |     R \n" % DOM0,
        HEADER + " 7 | 6a1c58a2-0d4e-4c61-9d8e |    B H\n",  # a cut-off uuid
        HEADER + " 7 | %s |    B X\n" % VM,  # a state letter list_domains has not
        HEADER + " 7 | %s |  DSPBRHD\n" % VM,
        HEADER + " 7 %s    B H\n" % VM,
    ],
)
def test_anything_else_is_unreadable(text):
    with pytest.raises(ValueError):
        hypervisor.parse(text)


def test_the_lab_tool_prints_the_real_format():
    rows = [["0", DOM0, "    R "], ["7", VM, "   B H"], ["12", OTHER, "    RH"]]
    assert lab_tool.table(rows) == RUNNING


# -- running it ---------------------------------------------------------------------------


@pytest.fixture
def tool(tmp_path, monkeypatch):
    """``tool(body)``: a list_domains shell script first on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ["PATH"]))

    def make(body):
        path = bindir / "list_domains"
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(stat.S_IRWXU)
        return str(path)

    return make


def test_ask_runs_list_domains_from_path(tool, tmp_path):
    listing = tmp_path / "out.txt"
    listing.write_text(RUNNING)
    path = tool('cat "%s"\n' % listing)
    assert hypervisor.find_tool() == path
    assert hypervisor.ask(VM).state == PRESENT
    assert hypervisor.ask(OTHER).state == PRESENT
    assert hypervisor.ask("11111111-2222-4333-8444-555555555555").state == ABSENT


@pytest.mark.parametrize(
    "body,why",
    [
        ("echo 'xc: error: Could not obtain handle' >&2\nexit 2\n", "failed (exit 2): xc: error"),
        ("exit 0\n", "printed something else than its domain list"),
        ("echo 'id | uuid | state'; echo ' 7 | garbage | R'\n", "an unreadable row"),
        ("printf 'id | uuid | state\\n\\377\\376\\n'\n", "unreadable output"),
        ("kill -9 $$\n", "failed (exit 137)"),  # killed by signal 9: 128 + 9, as a shell reports it
    ],
)
def test_a_failing_or_confused_list_domains_cannot_tell(tool, body, why):
    tool(body)
    a = hypervisor.ask(VM)
    assert a.state == UNKNOWN and why in a.reason, a


def test_a_list_domains_that_hangs_is_cut_off_at_its_bound(tool):
    tool("sleep 30\n")
    d = Deadline(5)
    a = hypervisor.ask(VM, timeout=0.5)
    assert a.state == UNKNOWN and "did not answer within 0.5s" in a.reason
    assert d.elapsed() < 3


def test_no_list_domains_anywhere_cannot_tell(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    if os.path.exists(hypervisor.LEGACY):
        pytest.skip("this machine has %s" % hypervisor.LEGACY)
    assert hypervisor.find_tool() == hypervisor.LEGACY
    a = hypervisor.ask(VM)
    assert (
        a.state == UNKNOWN
        and "list_domains is neither on PATH nor at /opt/xensource/bin" in a.reason
    )


def test_a_name_is_not_a_uuid():
    with pytest.raises(ValueError):
        hypervisor.ask("web")


def test_until_asks_again_while_it_cannot_tell(tool, tmp_path):
    """A dying domain goes away: the second look says absent."""
    first, later = tmp_path / "first", tmp_path / "later"
    first.write_text(output(("0", DOM0, "    R "), ("7", VM, "D    H")))
    later.write_text(output(("0", DOM0, "    R ")))
    seen = tmp_path / "seen"
    tool(
        'if [ -e "%s" ]; then cat "%s"; else touch "%s"; cat "%s"; fi\n'
        % (seen, later, seen, first)
    )
    a = hypervisor.until(VM, Deadline(5), interval=0.05)
    assert a.state == ABSENT
    tool('cat "%s"\n' % first)
    d = Deadline(0.6)
    a = hypervisor.until(VM, d, interval=0.05)
    assert a.state == UNKNOWN and d.expired()
    a = hypervisor.until(VM, Deadline(0.3), (PRESENT,), interval=0.05)
    assert a.state == UNKNOWN


@pytest.mark.parametrize(
    "text,uuid",
    [
        (VM, True),
        (VM.upper(), True),
        ("web", False),
        ("", False),
        (VM[:-1] + "g", False),
        (VM + "-", False),
        (VM.replace("-", ""), False),
    ],
)
def test_is_uuid(text, uuid):
    assert hypervisor.is_uuid(text) is uuid
