"""A preview in VM words: operator steps played on a copy of the live CIB.

Each step is done with the same :class:`~xenha.operate.verbs.Verbs` a command uses,
pointed at the copy; ``crm_simulate --simulate`` then carries out the transition
Pacemaker computes and saves the resulting status as the next copy, so a
sequence of steps (ban one VM, let it go, ban the next) is previewed as it will
run. The transition graph says what happens; :func:`changes` puts it in words:
``vm-db: live host1 -> host2``, ``vm-old: RESTART host1 -> host2``, ``pool master
host1 -> host2``.
"""

import collections
import os
import shutil
import tempfile

from xenha.crm.plan import MASTER
from xenha.crm.simulate import PacemakerToolError, Transition
from xenha.operate.verbs import Verbs
from xenha.pacemaker import PacemakerError, cib, tool

# What one resource does in a transition: ``kind`` live (migrates), restart (stops on
# ``source``, starts on ``target``), stop, start, move (a resource that is not a VM
# moving), or master (the pool master handed from ``source`` to ``target``).
Change = collections.namedtuple("Change", "rsc kind source target")

SIMULATE_TIMEOUT = 120.0


def describe(change):
    """One line for a person."""
    if change.kind == "master":
        return "pool master %s -> %s" % (change.source or "none", change.target or "none")
    if change.kind == "stop":
        return "%s: STOP on %s" % (change.rsc, change.source)
    if change.kind == "start":
        return "%s: start on %s" % (change.rsc, change.target)
    word = {"restart": "RESTART", "live": "live", "move": "moves"}[change.kind]
    return "%s: %s %s -> %s" % (change.rsc, word, change.source, change.target)


def changes(transition, vms):
    """The transition's changes, VMs first (``vms``: their resource ids) then the pool
    master, then other resources; monitors, notifications and probes say nothing."""
    seen = collections.defaultdict(dict)  # rsc -> {task: node}
    for a in transition.real():
        if a.kind == "rsc_op" and a.task in ("migrate_to", "migrate_from", "start", "stop"):
            seen[_base(a.rsc)][a.task] = a.node
        elif a.kind == "rsc_op" and a.task in ("promote", "demote") and _base(a.rsc) == MASTER:
            seen[MASTER][a.task] = a.node
    out = []
    for rsc, tasks in seen.items():
        if rsc == MASTER and ("promote" in tasks or "demote" in tasks):
            out.append(Change(MASTER, "master", tasks.get("demote"), tasks.get("promote")))
        elif "migrate_to" in tasks:
            out.append(Change(rsc, "live", tasks["migrate_to"], tasks.get("migrate_from")))
        elif "start" in tasks and "stop" in tasks:
            kind = "restart" if rsc in vms else "move"
            out.append(Change(rsc, kind, tasks["stop"], tasks["start"]))
        elif "start" in tasks:
            out.append(Change(rsc, "start", None, tasks["start"]))
        elif "stop" in tasks:
            out.append(Change(rsc, "stop", tasks["stop"], None))
    rank = {True: 0, False: 2}
    return sorted(out, key=lambda c: (1 if c.kind == "master" else rank[c.rsc in vms], c.rsc))


def _base(rsc):
    """A clone instance's resource (``pool-master:1`` -> ``pool-master``)."""
    return rsc.split(":", 1)[0]


class Paper:
    """The live CIB (or ``cib_xml``) copied to a temporary directory, removed on exit."""

    def __init__(self, cib_xml=None):
        self.cib_xml = cib_xml

    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix="xenha-preview-")
        self.step = 0
        self.path = os.path.join(self.workdir, "cib-0.xml")
        text = self.cib_xml if self.cib_xml is not None else cib()
        with open(self.path, "w") as f:
            f.write(text)
        self.verbs = Verbs(cib_file=self.path)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.workdir, ignore_errors=True)

    def run(self, vms):
        """Carry out the transition the current copy calls for; its :func:`changes`."""
        self.step += 1
        graph = os.path.join(self.workdir, "graph-%d.xml" % self.step)
        after = os.path.join(self.workdir, "cib-%d.xml" % self.step)
        argv = ["crm_simulate", "--xml-file", self.path, "--simulate", "--quiet"]
        argv += ["--save-graph", graph, "--save-output", after]
        try:
            tool(argv, SIMULATE_TIMEOUT)
        except PacemakerError as e:
            raise PacemakerToolError("cannot preview: %s" % e) from None
        self.path = after
        self.verbs = Verbs(cib_file=after)
        return changes(Transition(graph), vms)


def plan(command, steps, refusals, force):
    """What a command will do, as data (``--json`` prints it; :data:`PLAN_SCHEMA`):
    its ``steps`` ([(what, [Change])]) and the ``refusals``, which ``force`` turns into
    ``overridden``."""
    return {
        "command": command,
        "steps": [
            {"step": what, "changes": [dict(c._asdict(), text=describe(c)) for c in step]}
            for what, step in steps
        ],
        "refusals": [] if force else list(refusals),
        "overridden": list(refusals) if force else [],
    }


def render(plan):
    """A plan as text, 80 columns."""
    import textwrap

    out = []
    for step in plan["steps"]:
        out.append("%s:" % step["step"])
        out += ["  " + c["text"] for c in step["changes"]] or ["  nothing changes"]
    for word in ("refusals", "overridden"):
        for why in plan[word]:
            head = "refused: " if word == "refusals" else "overridden: "
            out += textwrap.wrap(head + why, 80, subsequent_indent="  ")
    return "".join(line + "\n" for line in out)


_STR = {"type": "string"}
_NODE = {"type": ["string", "null"]}
PLAN_SCHEMA = {
    "type": "object",
    "required": ["command", "steps", "refusals", "overridden"],
    "properties": {
        "command": _STR,
        "refusals": {"type": "array", "items": _STR},
        "overridden": {"type": "array", "items": _STR},
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["step", "changes"],
                "properties": {
                    "step": _STR,
                    "changes": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["rsc", "kind", "source", "target", "text"],
                            "properties": {
                                "rsc": _STR,
                                "kind": {
                                    "enum": ["live", "restart", "stop", "start", "move", "master"]
                                },
                                "source": _NODE,
                                "target": _NODE,
                                "text": _STR,
                            },
                        },
                    },
                },
            },
        },
    },
}
