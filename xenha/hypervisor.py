"""This host's hypervisor: does a domain of VM <uuid> exist here? Asked of Xen, never of
a database.

The answer comes from ``list_domains`` (xen-api ocaml/xenopsd/list_domains/
list_domains.ml; /usr/bin/list_domains of xapi-tools / xenopsd-xc, the path xapi itself
runs, xapi_globs.ml ``list_domains``; /opt/xensource/bin/list_domains on older dom0s). It
makes one ``domain_getinfolist`` hypercall and reads neither xenstore nor xenopsd nor
xapi, so it answers while xapi restarts, while the pool master is gone and after an
emergency transition to a stale database replica (docs/agents.md: why this source).

Without options it prints a header and one row per domain, every cell right-aligned to
its column's width and the cells joined by ``" | "`` (list_domains/table.ml)::

    id |                                 uuid |  state
     7 | 6a1c58a2-0d4e-4c61-9d8e-3c2f1e0b7a11 |    B H
    12 | 0f5e2b7c-9a64-4b1e-8c3d-2d7a9e4b6c22 |   P  H

``state`` has six positions, each a letter or a space: D dying, S shutdown, P paused,
B blocked, R running, H HVM guest. A domain's handle is its VM's UUID (xenopsd's
Domain.make, ocaml/xenopsd/xc/domain.ml), except for two windows:

* ``Domain.destroy`` first renames the handle to ``deadbeef-dead-beef-dead-beef0000``
  followed by the domid in four hex digits, before the domain dies (domain.ml);
* a migration names the source domain, once saved, ``uuid[:24] + "000000000000"`` and
  the destination domain, until its Post_migration rename, ``uuid[:24] +
  "000000000001"`` (xenops_server.ml ``tmp_uuid_of``).

So there are three answers. PRESENT: a row with the VM's UUID that is not dying (paused
counts). CANNOT TELL, with the reason: only a dying row of the VM, a row with one of its
migration ids, a row being destroyed that is not dying yet (it may have been this VM's),
a failed or slow ``list_domains``, or output that is not its output. ABSENT: otherwise,
with the header seen on a clean exit.
"""

import collections
import errno
import os

PRESENT = "present"
ABSENT = "absent"
UNKNOWN = "cannot tell"

TOOL = "list_domains"
LEGACY = "/opt/xensource/bin/list_domains"
BOUND = 5.0  # seconds: one hypercall; a list_domains slower than this is stuck

HEADER = ["id", "uuid", "state"]
FLAGS = "DSPBRH"
DESTROYING = "deadbeef-dead-beef-dead-beef0000"
MIGRATION_IDS = ("000000000000", "000000000001")  # tmp_uuid_of: source, destination
HEX = frozenset("0123456789abcdefABCDEF")

# One row of list_domains: domid (int), uuid (lower case), flags (its letters, e.g. "BH").
Domain = collections.namedtuple("Domain", "domid uuid flags")


class Answer(collections.namedtuple("Answer", "state reason domain")):
    """``state`` PRESENT, ABSENT or UNKNOWN; ``reason``, a sentence saying why;
    ``domain``, the VM's row when PRESENT."""

    @property
    def paused(self):
        return self.domain is not None and "P" in self.domain.flags


def is_uuid(text):
    """Whether ``text`` is a UUID (8-4-4-4-12 hex digits; no ``re``: monitor imports this)."""
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(set(p) <= HEX for p in parts)


def parse(text):
    """The rows of ``list_domains``' output; ValueError if it is not that output."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or [cell.strip() for cell in lines[0].split("|")] != HEADER:
        raise ValueError("no 'id | uuid | state' header")
    rows = []
    for line in lines[1:]:
        cells = line.split("|")
        if len(cells) != 3:
            raise ValueError("a row of %d cells: %r" % (len(cells), line[:120]))
        domid, uuid, letters = cells[0].strip(), cells[1].strip(), cells[2].replace(" ", "")
        if not domid.isdigit() or not is_uuid(uuid) or len(letters) > len(FLAGS):
            raise ValueError("an unreadable row: %r" % line[:120])
        if set(letters) - set(FLAGS):
            raise ValueError("unknown state letters in %r" % line[:120])
        rows.append(Domain(int(domid), uuid.lower(), letters))
    return rows


def judge(rows, vm_uuid):
    """The :class:`Answer` for VM ``vm_uuid`` from the rows of :func:`parse`."""
    uuid = vm_uuid.lower()
    mine = [d for d in rows if d.uuid == uuid]
    for d in mine:
        if "D" not in d.flags:
            state = "paused" if "P" in d.flags else "present"
            return Answer(PRESENT, "domain %d of VM %s is %s here" % (d.domid, uuid, state), d)
    if mine:
        return Answer(UNKNOWN, "domain %d of VM %s is dying" % (mine[0].domid, uuid), None)
    migration = [uuid[:24] + suffix for suffix in MIGRATION_IDS]
    for d in rows:
        if d.uuid in migration:
            return Answer(
                UNKNOWN,
                "VM %s is migrating: domain %d has its temporary id %s" % (uuid, d.domid, d.uuid),
                None,
            )
    for d in rows:
        if d.uuid.startswith(DESTROYING) and "D" not in d.flags:
            return Answer(
                UNKNOWN,
                "domain %d is being destroyed (handle %s) and may be VM %s's"
                % (d.domid, d.uuid, uuid),
                None,
            )
    return Answer(ABSENT, "no domain of VM %s on this host" % uuid, None)


def find_tool(path=None):
    """``list_domains`` on ``path`` (default: $PATH), else the legacy location."""
    path = os.environ.get("PATH", os.defpath) if path is None else path
    for directory in path.split(os.pathsep):
        candidate = os.path.join(directory, TOOL)
        if directory and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return LEGACY


def ask(vm_uuid, timeout=BOUND):
    """Whether a domain of VM ``vm_uuid`` exists on this host (an :class:`Answer`),
    from one run of ``list_domains`` bounded by ``timeout`` seconds."""
    from xenha import process

    if not is_uuid(vm_uuid):
        raise ValueError("%r is not a VM UUID" % vm_uuid)
    tool = find_tool()
    try:
        rc, out, err = process.run([tool], max(timeout, 0.1))
    except OSError as e:
        if e.errno == errno.ENOENT and tool == LEGACY:
            return Answer(UNKNOWN, "%s is neither on PATH nor at %s" % (TOOL, LEGACY), None)
        return Answer(UNKNOWN, "cannot run %s: %s" % (tool, e.strerror), None)
    except process.CommandTimeout:
        return Answer(UNKNOWN, "%s did not answer within %gs" % (tool, timeout), None)
    except ValueError as e:  # undecodable output
        return Answer(UNKNOWN, "%s printed unreadable output (%s)" % (tool, e), None)
    if rc != 0:  # 2: an uncaught exception, e.g. the hypercall refused (xapi_host_helpers.ml)
        said = (err.strip() or out.strip())[-200:]
        return Answer(UNKNOWN, "%s failed (exit %d): %s" % (tool, rc, said), None)
    try:
        rows = parse(out)
    except ValueError as e:
        return Answer(
            UNKNOWN, "%s printed something else than its domain list (%s)" % (tool, e), None
        )
    return judge(rows, vm_uuid)


KNOWN = (PRESENT, ABSENT)


def until(vm_uuid, deadline, states=KNOWN, interval=0.25):
    """:func:`ask` until the answer's state is one of ``states`` (default: PRESENT or
    ABSENT) or ``deadline`` (a :class:`xenha.deadline.Deadline`) passes; the last answer.
    Each run gets what is left of the deadline, at most :data:`BOUND`."""
    answers = []

    def done():
        answers[:] = [ask(vm_uuid, min(BOUND, max(deadline.left(), 0.5)))]
        return answers[0].state in states

    deadline.poll(done, interval)
    return answers[0]
