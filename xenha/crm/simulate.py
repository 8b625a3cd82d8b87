"""Check a generated CIB with Pacemaker's own tools, without a cluster.

``crm_verify`` checks the configuration. ``crm_simulate`` then plays a running
cluster: every node up, the attributes the agents would set (ping
connectivity, promotion scores of the pool master), every
resource placed. One node fails, and the transition Pacemaker computes must
show: the fence first, then the pool master promoted on a survivor (if the
failed node held it), then the lost VMs started on survivors, and no VM start
that does not wait for the fence. The order is read from the transition
graph's inputs, not from the text summary.
"""

import collections
import hashlib
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET

from xenha import process, values
from xenha.crm import plan
from xenha.errors import XenhaError

SCORE_MASTER, SCORE_OTHER = 100, 10  # promotion scores the simulation gives the nodes
TOOL_TIMEOUT = 300.0  # crm_verify / crm_simulate on a CIB file: seconds even when large


class PacemakerToolError(XenhaError):
    """crm_verify / crm_simulate is missing or rejected the configuration."""


# What a simulated event led to: ``problems`` (empty: all good), ``story`` (what the cluster
# did, one line per step) and the ``transition`` itself.
Outcome = collections.namedtuple("Outcome", "problems story transition")


def _run(argv):
    try:
        rc, out, err = process.run(argv, TOOL_TIMEOUT)
    except OSError as e:
        raise PacemakerToolError(
            "cannot run %s (%s); install Pacemaker's command-line tools "
            "(Debian: pacemaker-cli-utils)" % (argv[0], e.strerror)
        ) from None
    except process.CommandTimeout as e:
        raise PacemakerToolError(str(e)) from None
    return rc, out, err.strip()


def check_target(model):
    """Refuse to prove a configuration written for a newer Pacemaker than this machine's:
    its tools cannot read that schema (an older one they upgrade as they read it)."""
    from xenha.crm import targets

    want, have = targets.of(model).name, targets.machine()
    if _release(want) > _release(have):
        raise PacemakerToolError(
            "the configuration is for Pacemaker %s (cluster.pacemaker or --pacemaker), and "
            "this machine's tools are %s's: they cannot read its schema. Verify it where "
            "Pacemaker %s is installed" % (want, have, want)
        )


def _release(name):
    return tuple(int(x) for x in name.split("."))


def verify(cib_path):
    """crm_verify the CIB file; return its warnings (a list of lines) or raise on errors."""
    rc, out, err = _run(["crm_verify", "-V", "--xml-file", cib_path])
    lines = [line for line in (out + "\n" + err).splitlines() if line.strip()]
    if rc != 0:
        raise PacemakerToolError("crm_verify rejects the configuration:\n  " + "\n  ".join(lines))
    return lines


class Action:
    """One action of a transition graph, with what is needed to record its result."""

    def __init__(self, elem):
        self.id = elem.get("id")
        self.kind = elem.tag  # rsc_op, pseudo_event or crm_event
        self.task = elem.get("operation")
        self.node = elem.get("on_node")
        prim = elem.find("primitive")
        self.key = elem.get("operation_key") or ""
        self.rsc = prim.get("id") if prim is not None else self.key.rsplit("_", 2)[0]
        self.agent = {
            k: prim.get(k)
            for k in ("class", "provider", "type")
            if prim is not None and prim.get(k)
        }
        attrs = elem.find("attributes")
        attrs = attrs.attrib if attrs is not None else {}
        self.interval = attrs.get("CRM_meta_interval", "0")
        self.target_rc = attrs.get("CRM_meta_op_target_rc", "0")
        self.feature_set = attrs.get("crm_feature_set")
        self.params = {k: v for k, v in attrs.items() if not k.startswith("CRM_meta_")}
        self.params.pop("crm_feature_set", None)
        if self.interval != "0":  # recurring operations' digests include their timeout
            self.params["CRM_meta_timeout"] = attrs.get("CRM_meta_timeout")

    def __str__(self):
        if self.task == "stonith":
            return "fence %s" % self.node
        return "%s %s on %s" % (self.task, self.rsc, self.node)


class Transition:
    """A transition graph: its actions and, for each, the actions it waits for."""

    def __init__(self, path):
        root = ET.parse(path).getroot()
        self.actions = {}
        self.inputs = {}
        for syn in root.findall("synapse"):
            action = Action(syn.find("action_set")[0])
            self.actions[action.id] = action
            self.inputs[action.id] = [
                t.get("id") for inputs in syn.findall("inputs") for trig in inputs for t in trig
            ]

    def real(self, task=None, rsc=None):
        """Actions executed on a node (not pseudo-events), filtered by task and resource."""
        return [
            a
            for a in self.actions.values()
            if a.kind != "pseudo_event"
            and (task is None or a.task == task)
            and (rsc is None or a.rsc == rsc)
        ]

    def waits_for(self, later, earlier):
        """True if ``later`` cannot run before ``earlier`` completed (through any chain)."""
        seen, todo = set(), list(self.inputs[later.id])
        while todo:
            aid = todo.pop()
            if aid == earlier.id:
                return True
            if aid not in seen:
                seen.add(aid)
                todo.extend(self.inputs.get(aid, ()))
        return False

    def lost(self, task="stop"):
        """Resources whose ``task`` (stop, demote) a fence implies: they ran on the lost node."""
        return {a.rsc for a in self.actions.values() if a.kind == "pseudo_event" and a.task == task}


class Scenario:
    """A running cluster on paper: one CIB file with a status section, one snapshot per step."""

    def __init__(self, cib_path, nodes, attrs, workdir):
        self.workdir = workdir
        self.step = 0
        self.path = os.path.join(workdir, "status-0.xml")
        _add_status(cib_path, self.path, nodes, attrs)

    def run(self, *events):
        """The transition Pacemaker computes from the current status plus ``events``."""
        self.step += 1
        graph = os.path.join(self.workdir, "graph-%d.xml" % self.step)
        argv = ["crm_simulate", "--xml-file", self.path, "--run", "--quorum", "true"]
        argv += ["--save-graph", graph, "--quiet"] + list(events)
        rc, _, err = _run(argv)
        if rc != 0 or not os.path.exists(graph):
            raise PacemakerToolError("crm_simulate failed (%d): %s" % (rc, err))
        return Transition(graph)

    def settle(self):
        """Carry out the first transition (everything starts) by writing its results as history.

        crm_simulate --simulate does the same but costs time per action and CIB
        size (minutes at 1,000 VMs); the results are written here the way it
        records them, and the scheduler must then have nothing left to do.
        """
        transition = self.run()
        tree = ET.parse(self.path)
        states = {s.get("uname"): s for s in tree.getroot().iter("node_state")}
        order = {"start": 0, "promote": 1}
        actions = [a for a in transition.real() if a.kind == "rsc_op"]
        for call, action in enumerate(sorted(actions, key=lambda a: order.get(a.task, 2)), 1):
            _record(states[action.node], action, call)
        tree.write(self.path)
        left = [str(a) for a in self.run().real()]
        if left:
            raise PacemakerToolError("the simulated cluster does not settle: " + ", ".join(left))

    def set_attributes(self, attrs):
        """Set node attributes in the current status, as an agent's crm_attribute would."""
        tree = ET.parse(self.path)
        for state in tree.getroot().iter("node_state"):
            name = state.get("uname")
            iattrs = state.find("transient_attributes/instance_attributes")
            for key, value in sorted(attrs.get(name, {}).items()):
                nvpair = iattrs.find("nvpair[@name='%s']" % key)
                if nvpair is None:
                    nvpair = ET.SubElement(iattrs, "nvpair", id="status-%s-%s" % (name, key))
                    nvpair.set("name", key)
                nvpair.set("value", str(value))
        tree.write(self.path)

    def placement(self):
        """{resource: node} of the resources started in the current status."""
        where = {}
        for state in ET.parse(self.path).getroot().iter("node_state"):
            for res in state.iter("lrm_resource"):
                if any(op.get("operation") == "start" for op in res.iter("lrm_rsc_op")):
                    where[res.get("id")] = state.get("uname")
        return where


def _record(state, action, call):
    """Append the successful result of ``action`` to the node's resource history."""
    lrm = state.find("lrm")
    if lrm is None:
        lrm = ET.SubElement(state, "lrm", id=state.get("id"))
        ET.SubElement(lrm, "lrm_resources")
    resources = lrm.find("lrm_resources")
    res = resources.find("lrm_resource[@id='%s']" % action.rsc)
    if res is None:
        res = ET.SubElement(resources, "lrm_resource", id=action.rsc, **action.agent)
    rc = action.target_rc
    key = "%d:-1:%s:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" % (call, rc)
    recurring = action.interval != "0"
    op_key = "%s_%s_%s" % (action.rsc, action.task, action.interval)  # no clone instance number
    ET.SubElement(
        res,
        "lrm_rsc_op",
        {
            "id": op_key if recurring else action.rsc + "_last_0",
            "operation_key": op_key,
            "operation": action.task,
            "crm-debug-origin": "xenha",
            "crm_feature_set": action.feature_set,
            "transition-key": key,
            "transition-magic": "0:%s;%s" % (rc, key),
            "call-id": str(call),
            "rc-code": rc,
            "op-status": "0",
            "interval": action.interval,
            "op-digest": _digest(action.params),
        },
    )
    if not recurring:  # one _last_0 entry: the latest one-shot operation
        for old in res.findall("lrm_rsc_op[@id='%s']" % (action.rsc + "_last_0"))[:-1]:
            res.remove(old)


def _digest(params):
    """The op-digest Pacemaker records for an operation run with ``params``.

    MD5 of the parameters as one XML element with sorted attributes, as the
    controller hashes them; if this ever differs from Pacemaker's own, the
    scheduler plans restarts and settle() says so instead of going on.
    """
    attrs = "".join(' %s="%s"' % (k, values.xml_escape(v)) for k, v in sorted(params.items()))
    return hashlib.md5((" <parameters%s/>\n" % attrs).encode()).hexdigest()


def _add_status(cib_path, out_path, nodes, attrs):
    tree = ET.parse(cib_path)
    root = tree.getroot()
    root.set("have-quorum", "1")
    # A settled cluster has probed everything already; on paper, nothing needs probing.
    props = root.find("configuration/crm_config/cluster_property_set")
    ET.SubElement(
        props, "nvpair", id="xenha-simulate-probes", name="enable-startup-probes", value="false"
    )
    xml_nodes = root.find("configuration/nodes")
    status = root.find("status")
    for name in nodes:
        ET.SubElement(xml_nodes, "node", id=name, uname=name)
        state = ET.SubElement(
            status,
            "node_state",
            id=name,
            uname=name,
            in_ccm="true",
            crmd="online",
            join="member",
            expected="member",
        )
        trans = ET.SubElement(state, "transient_attributes", id=name)
        iattrs = ET.SubElement(trans, "instance_attributes", id="status-" + name)
        for key, value in sorted(attrs.get(name, {}).items()):
            ET.SubElement(
                iattrs, "nvpair", id="status-%s-%s" % (name, key), name=key, value=str(value)
            )
    tree.write(out_path)


def node_attributes(model, master):
    """What the agents would set on each node: ping result, promotion scores (master highest)."""
    conn = model["connectivity"]
    attrs = {}
    for node in model["cluster"]["nodes"]:
        name = node["name"]
        score = SCORE_MASTER if name == master else SCORE_OTHER
        attrs[name] = {"master-" + plan.MASTER: score}
        if conn["ping"]:
            attrs[name][plan.PING_ATTR] = conn["multiplier"] * len(conn["ping"])
    return attrs


def check_failover(transition, failed, vms):
    """Problems with the recovery from losing node ``failed`` (empty: all good), and the story.

    ``vms``: the resource ids of the VMs the description protects (:func:`vm_ids`).
    """
    problems, story = [], []
    fences = [a for a in transition.real("stonith") if a.node == failed]
    if not fences:
        return ["no fence of %s in the transition" % failed], story
    fence = fences[0]
    story.append(str(fence))
    promotes = transition.real("promote", plan.MASTER)
    if plan.MASTER in transition.lost("demote") and not promotes:
        problems.append(
            "%s was promoted on %s and is promoted nowhere else" % (plan.MASTER, failed)
        )
    for p in promotes:
        story.append(str(p))
        if not transition.waits_for(p, fence):
            problems.append("%s does not wait for the fence" % p)
    starts = [
        a
        for a in transition.real()
        if a.rsc in vms and a.task in ("start", "migrate_from", "migrate_to")
    ]
    for s in sorted(starts, key=lambda a: (a.rsc, a.task)):
        story.append(str(s))
        if s.node == failed:
            problems.append("%s: on the failed node" % s)
        if not transition.waits_for(s, fence):
            problems.append("%s does not wait for the fence of %s" % (s, failed))
        for p in promotes:
            if not transition.waits_for(s, p):
                problems.append("%s does not wait for %s" % (s, p))
    started = {s.rsc for s in starts if s.task == "start"}
    for rsc in sorted(transition.lost() & set(vms)):
        if rsc not in started:
            problems.append("%s ran on %s and is not started on a survivor" % (rsc, failed))
    return problems, story


def vm_ids(model):
    """The resource ids of the VMs the model protects."""
    return [vm["id"] for vm in plan.protected_vms(model)]


class _Settled:
    """A settled Scenario (master on ``master``) in a temporary directory removed on exit."""

    def __init__(self, model, cib_path, master):
        self.names = [n["name"] for n in model["cluster"]["nodes"]]
        self.attrs = node_attributes(model, master)
        self.cib_path = cib_path

    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix="xenha-simulate-")
        scenario = Scenario(self.cib_path, self.names, self.attrs, self.workdir)
        scenario.settle()
        return scenario

    def __exit__(self, *exc):
        shutil.rmtree(self.workdir, ignore_errors=True)


def fence_targets(cib_path):
    """{node: [fence devices whose pcmk_host_list names it]} in the CIB.

    The scheduler plans a fence for any lost node; whether a device can carry
    it out is the fencer's business at run time, so it is checked here.
    """
    targets = {}
    for prim in ET.parse(cib_path).getroot().iter("primitive"):
        if prim.get("class") != "stonith":
            continue
        for nvpair in prim.iter("nvpair"):
            if nvpair.get("name") == "pcmk_host_list":
                for node in nvpair.get("value").replace(",", " ").split():
                    targets.setdefault(node, []).append(prim.get("id"))
    return targets


def failover(model, cib_path, failed, master=None):
    """Simulate losing node ``failed`` (the master on ``master``, default: ``failed``).

    Returns an :data:`Outcome`.
    """
    with _Settled(model, cib_path, master or failed) as scenario:
        transition = scenario.run("--node-fail", failed)
    problems, story = check_failover(transition, failed, vm_ids(model))
    if failed not in fence_targets(cib_path):
        problems.insert(
            0,
            "no fence device targets %s (pcmk_host_list): the fence would never complete "
            "and what ran there would stay down" % failed,
        )
    return Outcome(problems, story, transition)


def master_move(model, cib_path, old, new):
    """Simulate the pool master moving from ``old`` to ``new`` (the agent's scores change).

    Returns an :data:`Outcome`; any VM action in that transition is a problem:
    a planned master move must not stop, start or migrate VMs.
    """
    with _Settled(model, cib_path, old) as scenario:
        scores = node_attributes(model, new)
        scenario.set_attributes(scores)
        transition = scenario.run()
    vms = set(vm_ids(model))
    story = ["%s" % a for a in transition.real() if a.task in ("promote", "demote")]
    problems = [
        "%s during a master move" % a
        for a in transition.real()
        if a.rsc in vms and a.task != "monitor"
    ]
    if not any(a.task == "promote" and a.node == new for a in transition.real()):
        problems.append("the master is not promoted on %s" % new)
    return Outcome(problems, story, transition)


def host_maintenance(model, cib_path, host, master):
    """Simulate ``host`` entering XenCenter's maintenance mode (its xapi-pool-master sets
    :data:`xenha.pool_agent.MAINTENANCE`; the master on ``master``). Returns an
    :data:`Outcome`: each VM on ``host`` leaves it, live where it may migrate, else by a
    restart elsewhere (the story says which); no other VM action."""
    from xenha.pool_agent import MAINTENANCE

    with _Settled(model, cib_path, master) as scenario:
        placed = scenario.placement()
        scenario.set_attributes({host: {MAINTENANCE: "true"}})
        transition = scenario.run()
    migrate = {vm["id"]: vm["migrate"] for vm in plan.protected_vms(model)}
    leaving = sorted(vm for vm in migrate if placed.get(vm) == host)
    expected = set()
    for vm in leaving:
        tasks = ("migrate_to", "migrate_from", "stop") if migrate[vm] else ("stop", "start")
        expected.update((vm, task) for task in tasks)
    story, problems = [], []
    for a in transition.real():
        if a.rsc not in migrate or a.task == "monitor":
            continue
        on_source = a.task in ("migrate_to", "stop")
        if (a.rsc, a.task) not in expected or (a.node == host) != on_source:
            problems.append("%s on entering maintenance" % a)
        elif not on_source:
            how = "restart" if a.task == "start" else "live"
            story.append("%s %s to %s" % (a.rsc, how, a.node))
    moved = {line.split()[0] for line in story}
    problems += ["%s does not leave %s" % (vm, host) for vm in leaving if vm not in moved]
    return Outcome(problems, sorted(story), transition)
