"""Which node mails an event: one speaker per event for the whole cluster, no shared state.

Pacemaker raises a resource alert only on the node whose executor ran the
operation, so that node speaks for it. Node and fencing alerts are raised by
the controller of every member (each one's membership callback; each one's
fencer notification), so one member must be chosen, and each chooses the same:
the DC, which every member agrees on. While the DC cannot be named for the
event - none elected yet, or the DC is the node the event takes out of the
cluster (its own loss, its own fence) - the agent asks again until the
election has named a new one; if the budget runs out first, it speaks (a
duplicate is better than no mail). Why this drops nothing, and its limits:
docs/alerts.md.
"""

import collections

from xenha import pacemaker

# What this node's Pacemaker says now: its own name, the DC (None: none known), the members.
View = collections.namedtuple("View", "me dc members")
# Whether this node mails the event, and why (for the agent's one-line report).
Verdict = collections.namedtuple("Verdict", "speaks reason")

POLL = 0.25  # seconds between two questions while an election names the DC
ASK = 2.0  # at most this long per question: a DC elected meanwhile is seen at the next one


def speaker(event, view):
    """The node that mails ``event`` as ``view`` tells it, or None while none can be named."""
    if event.kind == "resource":
        return view.me
    dc = view.dc
    if dc is None or dc not in view.members or (dc == event.node and event.takes_node_out()):
        return None
    return dc


def decide(event, deadline, me=None, ask=None):
    """Whether this node mails ``event``, decided within ``deadline``.

    ``me`` returns this node's name, ``ask`` a View of the cluster now (default: the
    Pacemaker tools); either raises PacemakerError when Pacemaker cannot tell.
    """
    if event.kind == "resource":
        return Verdict(True, "this node ran the operation")
    try:
        name = (me or pacemaker.node_name)()
    except pacemaker.PacemakerError as e:
        return Verdict(True, "cannot tell which node speaks (%s): mailing from here" % e)
    ask = ask or (lambda: _view(name, deadline))
    chosen = []

    def named():
        try:
            found = speaker(event, ask())
        except pacemaker.PacemakerError:
            found = None
        chosen[:] = [found]
        return found is not None

    if not deadline.poll(named, POLL):
        return Verdict(True, "no DC named within %gs: mailing from here" % deadline.seconds)
    if chosen[0] == name:
        return Verdict(True, "this node is the DC")
    return Verdict(False, "the DC, %s, mails it" % chosen[0])


def _view(me, deadline):
    """The DC and the members, each question bounded by ASK and what is left of ``deadline``."""

    def budget():
        return max(min(ASK, deadline.left()), 0.2)

    members = pacemaker.members(timeout=budget())
    try:
        dc = pacemaker.designated_controller(timeout=budget())
    except pacemaker.PacemakerError:
        dc = None
    return View(me, dc, members)
