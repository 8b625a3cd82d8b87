"""The lab as a whole: bring N hosts up as one cluster, inspect it, take everything down.

One lab per machine (:mod:`xenha.lab.lock`): ``up`` refuses while another lab is up,
``Lab.down`` takes down only its own lab, ``down()`` whatever lab the machine has.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET

from xenha import boot_role, install
from xenha.errors import XenhaError
from xenha.lab import lock, network, recorder, stacks
from xenha.lab.hosts import STATE, XAPI_DIR, XENSOURCE_DIR, Arbiter, Host
from xenha.lab.pool import service
from xenha.lab.power import bmcs, pdu
from xenha.lab.proc import PidFile, poll, run
from xenha.model.spec import TIMING_TOKEN_MS

LAB_JSON = STATE / "lab.json"
# The lab's cluster description: its cluster and quorum part from `up` on (enough for the
# hosts' corosync.conf), the pool and its VMs added by `configure`.
DESCRIPTION = STATE / "pool.yaml"
AUTHKEY = STATE / "authkey"  # corosync's shared key, copied to every host's totem.AUTHKEY

QUORUM_MODES = ("majority", "two_node", "qdevice")  # the description's quorum.mode
LOCK_WAIT = 300  # seconds a `down` waits for another command's up and configure to end

# Until the generated configuration is loaded: elect a DC fast, fence nothing.
SEED_PROPERTIES = {"dc-deadtime": "2s", "stonith-enabled": "false"}


FENCING = ("ipmi", "apc", "ipmi,apc")  # fencing levels, in order


class Lab:
    """N pool hosts on one bridge; with quorum ``qdevice``, an arbiter machine too; fenced
    through their IPMI BMCs, an APC PDU, or both (the PDU as the second level). Its
    corosync runs the ``fast`` timing profile unless ``timing`` says otherwise (a
    benchmark of production's)."""

    def __init__(self, n_hosts, quorum=None, fencing="ipmi", timing="fast", stack=None):
        if not 2 <= n_hosts <= 16:
            raise XenhaError("a lab has 2 to 16 hosts, not %d" % n_hosts)
        self.quorum = quorum or ("two_node" if n_hosts == 2 else "majority")
        if self.quorum not in QUORUM_MODES:
            modes = ", ".join(QUORUM_MODES)
            raise XenhaError("quorum is one of %s, not %r" % (modes, quorum))
        if self.quorum == "two_node" and n_hosts != 2:
            raise XenhaError("two-node quorum needs exactly 2 hosts")
        if fencing not in FENCING:
            raise XenhaError("fencing is one of %s, not %r" % (", ".join(FENCING), fencing))
        if timing not in TIMING_TOKEN_MS:
            raise XenhaError("timing is one of %s, not %r" % (", ".join(TIMING_TOKEN_MS), timing))
        if stack is not None and stack not in stacks.STACKS:
            names = ", ".join(sorted(stacks.STACKS))
            raise XenhaError("stack is one of %s, not %r" % (names, stack))
        self.fencing = fencing.split(",")
        self.timing = timing
        self.stack = stack  # xenha.lab.stacks: the hosts run that Debian's cluster stack
        self.token_ms = None  # None: the timing profile's token
        qdevice = self.quorum == "qdevice"
        self.hosts = [Host(i, qdevice=qdevice, stack=stack) for i in range(1, n_hosts + 1)]
        self.arbiter = Arbiter() if qdevice else None
        self.id = None  # set by up: the state file's id of the lab this object brought up

    @classmethod
    def current(cls):
        """The lab described by the state directory, or an error if none is up."""
        state = lock.read(LAB_JSON)
        try:
            lab = cls(
                state["hosts"],
                state["quorum"],
                state.get("fencing", "ipmi"),
                state.get("timing", "fast"),
                state.get("stack"),
            )
        except (TypeError, KeyError, XenhaError):
            raise XenhaError("no lab is up (run `xenha lab up`)") from None
        lab.token_ms = state.get("token_ms")
        lab.id = state.get("id")
        return lab

    def host(self, name):
        for h in self.hosts:
            if h.name == name:
                return h
        names = ", ".join(h.name for h in self.hosts)
        raise XenhaError("no lab host %r (hosts: %s)" % (name, names))

    def machines(self):
        return self.hosts + ([self.arbiter] if self.arbiter else [])

    def up(self, vms=4, token_ms=None, progress=print, timeout=90):
        """Create and boot every machine, and wait for one cluster with all hosts online.

        Also serves the hosts' XAPI pool (the first host is its master) and installs
        xenha's agents where the hosts' Pacemaker finds them. Refuses (LabBusy) while
        another lab is up; a stale lab left by a killed run is removed first. On failure
        or Ctrl-C, everything made so far is removed again.
        """
        with lock.held("bringing a lab up"):
            self._make_room(progress)
            self.id = uuid.uuid4().hex
            self.token_ms = token_ms
            try:
                self._build(vms, progress, timeout)
            except BaseException:
                _remove()
                raise
        progress("cluster up: %s online" % ", ".join(h.name for h in self.hosts))

    @staticmethod
    def _make_room(progress):
        """Under the lock, before a lab comes up: refuse if a lab is up, remove a stale one."""
        stale = lock.check_free(LAB_JSON)
        if stale is None:
            leftovers = network.lab_objects()
            if leftovers:
                raise lock.LabBusy(
                    "the lab network is there (%s) but no lab state (%s) says whose it is; "
                    "`xenha lab down` removes it" % (", ".join(leftovers), LAB_JSON)
                )
            return
        progress("removing a stale lab (%s): none of its processes runs" % lock.describe(stale))
        _remove()

    def _build(self, vms, progress, timeout):
        if self.stack:
            stacks.build(self.stack, progress)
            stacks.prepare_lab(self.stack)
        STATE.mkdir(parents=True)
        state = {"id": self.id, "owner": lock.owner(), "hosts": len(self.hosts)}
        state.update(quorum=self.quorum, timing=self.timing, token_ms=self.token_ms, undo=[])
        state.update(fencing=",".join(self.fencing), stack=self.stack)
        LAB_JSON.write_text(json.dumps(state))
        DESCRIPTION.write_text(_yaml(self.cluster_description()))
        conf = self.corosync_conf()
        run(["corosync-keygen", "-k", str(AUTHKEY)])
        network.create_bridge()
        if self.arbiter:
            self.arbiter.create()
            self.arbiter.power_on()
        for h in self.hosts:
            h.create(conf, AUTHKEY.read_bytes())
            seed_cib(h.root / "var/lib/pacemaker/cib/cib.xml", self.stack)
        _remember_undo(_make_dir(XAPI_DIR))
        _remember_undo(_make_dir(XENSOURCE_DIR))
        service.start(self.hosts, vms)
        progress("XAPI pool served: master %s, %d VMs" % (self.hosts[0].name, vms))
        if not self.stack:  # a stack's root has them: stacks.prepare_lab
            _remember_undo(_install_agents())
        pdu_wanted = "apc" in self.fencing
        bmcs.start(self.hosts, outlets=pdu.outlets(self.hosts) if pdu_wanted else ())
        if pdu_wanted:
            pdu.start(str(bmcs.RACK))
        for h in self.hosts:
            h.power_on()
        progress("%d hosts booted; waiting for the cluster to form" % len(self.hosts))
        self.wait_online([h.name for h in self.hosts], timeout=timeout)

    def cluster_description(self):
        """The cluster and quorum part of this lab's description: all that corosync.conf
        needs, known before the XAPI pool is up."""
        quorum = {"mode": self.quorum}
        if self.arbiter:
            quorum["qdevice"] = {"host": self.arbiter.address, "tls": self.arbiter.tls}
        cluster = {"name": "xenha-lab", "timing": self.timing}
        if self.stack:
            cluster["pacemaker"] = stacks.STACKS[self.stack].target
        if self.token_ms is not None:
            cluster["token_ms"] = self.token_ms
        return {
            "cluster": dict(
                cluster,
                nodes=[
                    {
                        "name": h.name,
                        "address": h.address,
                        "fencing": [self._fence_device(kind, h) for kind in self.fencing],
                    }
                    for h in self.hosts
                ],
            ),
            "quorum": quorum,
        }

    def description(self):
        """This lab as a xenha cluster description (what an operator would write)."""
        info = service.info()
        return dict(
            self.cluster_description(),
            pool={
                "xapi": {"password_file": info["password_file"], "ca_file": info["ca_file"]},
                "mode": "vms",
                "protect": "all",
            },
            vms=[{"vm": v["uuid"], "name": v["name"]} for v in info["vms"]],
        )

    def corosync_conf(self):
        """The corosync.conf every host runs: what `xenha config generate -f corosync`
        prints for the lab's description (written to DESCRIPTION)."""
        from xenha import model
        from xenha.crm.render import render

        text = _yaml(self.cluster_description())
        return render(model.loads(text, str(DESCRIPTION)), "corosync", DESCRIPTION.name)

    @staticmethod
    def _fence_device(kind, host):
        """How to fence ``host`` through its BMC (``ipmi``) or its PDU outlet (``apc``)."""
        if kind == "ipmi":
            return {
                "device": "ilo",
                "method": "ipmi",
                "ip": bmcs.address(host),
                "username": bmcs.USER,
                "password_file": str(bmcs.SECRET),
            }
        return {
            "device": "apc",
            "ip": pdu.ADDRESS,
            "plug": str(host.index),
            "password_file": str(pdu.COMMUNITY),
            "snmp_version": "2c",
        }

    def configure(self, description=None, progress=print, timeout=180):
        """Generate the configuration of ``description`` (default: ``self.description()``)
        with xenha's generator, load it with crmsh and wait until the cluster has settled."""
        from xenha import model, protection
        from xenha.crm.render import render

        with lock.held("configuring the lab"):
            self._check_up()
            path = DESCRIPTION
            path.write_text(_yaml(description or self.description()))
            crm = render(model.load(str(path)), "crm")
            crm += recorder.install(stacks.cluster_ids(self.stack))
            (STATE / "pool.crm").write_text(crm)
            self.hosts[0].load_crm(crm)
            # As `xenha config load` does: the description kept in the CIB for the
            # followers (`xenha vm follow`, running on every host).
            kept = protection.description_set(path.read_text(), path.name + ", lab configure")
            argv = ["cibadmin", "--modify", "--allow-create", "--scope", "crm_config"]
            self.hosts[0].exec(argv + ["--xml-text", kept], timeout=60)
            progress(
                "configuration generated from %s and loaded with crmsh; waiting to settle" % path
            )
            self.settle(timeout)
        progress("cluster settled")

    def _check_up(self):
        state = lock.read(LAB_JSON)
        if state is None or state.get("id") != self.id:
            raise XenhaError("this lab is not up any more (%s)" % LAB_JSON)

    def down(self):
        """Take this lab down, only if the state file says it is this one (the lab this
        object brought up, or found with ``current``): a lab that another command brought
        up is left alone. Whether it was taken down."""
        with lock.held("taking a lab down", wait=LOCK_WAIT):
            state = lock.read(LAB_JSON)
            if self.id is None or state is None or state.get("id") != self.id:
                return False
            _remove()
            return True

    def crash(self, host):
        """Power cut: the host's processes die, its link goes dark, its xapi stops."""
        host.power_cut()
        host.cable.set_link(False)
        service.control().power_off(host.name)

    def boot(self, host):
        """Power on: the link comes back, xenha-boot-role parks a master that rebooted
        (as it runs before xapi.service on a dom0), xapi starts in the role pool.conf
        then says, then corosync/pacemaker start."""
        host.cable.set_link(True)
        with contextlib.suppress(XenhaError, OSError):  # as ExecStartPre=-: xapi starts anyway
            boot_role.park(
                str(host.xensource_dir / "pool.conf"),
                str(host.root / boot_role.RECORD.lstrip("/")),
            )
        service.control().power_on(host.name)
        host.power_on()

    def crm_mon(self, via=None):
        """The cluster status (``crm_mon`` XML) seen from ``via`` (default: a running
        host), parsed; None while it cannot be read."""
        via = via or next(h for h in self.hosts if h.is_on())
        xml = via.exec(["crm_mon", "--output-as=xml"], check=False)
        try:
            return ET.fromstring(xml[xml.index("<") :])
        except (ValueError, ET.ParseError):
            return None

    def members(self, via=None):
        """``{node: online?}`` and the DC, as the cluster (seen from ``via``) reports it."""
        root = self.crm_mon(via)
        if root is None:
            return {}, None
        nodes = {n.get("name"): n.get("online") == "true" for n in root.iterfind("nodes/node")}
        dc = root.find("summary/current_dc")
        return nodes, (dc.get("name") if dc is not None and dc.get("present") == "true" else None)

    def wait_online(self, names, timeout=90):
        """Wait until a DC is elected and the hosts ``names`` are online members."""
        seen = [{}, None]

        def formed():
            seen[:] = self.members()
            return seen[1] and all(seen[0].get(n) for n in names)

        if not poll(formed, timeout, interval=0.25):
            raise XenhaError(
                "cluster did not form within %ss (nodes: %s, DC: %s)" % (timeout, *seen)
            )

    def settle(self, timeout=180, check=True):
        """Wait until every host is an online member again (a fenced host reboots) and
        Pacemaker has nothing left to do (``crm_resource --wait``; with ``check``, an
        error if it still has after ``timeout`` seconds)."""
        self.wait_online([h.name for h in self.hosts], timeout=timeout)
        argv = ["crm_resource", "--wait", "--timeout", "%ds" % timeout]
        next(h for h in self.hosts if h.is_on()).exec(argv, timeout=timeout + 10, check=check)


def _yaml(description):
    import yaml

    return yaml.safe_dump(description, sort_keys=False)


def seed_cib(path, stack=None):
    """An initial CIB with the seed properties (before the cluster writes its own), by the
    tools of the Pacemaker that reads it (``stack``'s, or this machine's)."""

    def tool(argv, env=None):
        if stack is None:
            return run(argv, env=dict(env or {}, PATH="/usr/sbin:/usr/bin:/sbin:/bin"))
        r = stacks.run(stack, argv, binds=[str(path.parent)], env=env)
        if r.returncode != 0:
            raise XenhaError("%s failed in the %s root: %s" % (argv[0], stack, r.stderr[-300:]))
        return r.stdout

    path.write_text(tool(["cibadmin", "--empty"]))
    for name, value in SEED_PROPERTIES.items():
        tool(
            ["crm_attribute", "-t", "crm_config", "-n", name, "-v", value], {"CIB_file": str(path)}
        )
    os.chown(path, *stacks.cluster_ids(stack))
    path.chmod(0o600)


def _make_dir(path):
    """Create ``path`` if missing; return the undo step (or None)."""
    if os.path.isdir(path):
        return None
    os.makedirs(path)
    return ["rmdir", path]


def _install_agents():
    """Install xenha's agents on the machine unless they already are; return the undo step.

    Pacemaker's controller runs agents' meta-data as ``hacluster``: check that it can.
    """
    undo = None
    if not all(state == "ok" for _, state in install.check("/", lab=True)):
        install.install("/", lab=True)  # a lab: the test-only fence agents too
        undo = ["uninstall"]
    probe = ["runuser", "-u", "hacluster", "--", "/" + install.OCF_DIR + "/xen-vm", "meta-data"]
    r = subprocess.run(probe, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        if undo:
            install.uninstall("/")
        raise XenhaError(
            "the hacluster user cannot run the agents (Pacemaker runs their meta-data as "
            "hacluster): make the Python at %s and this checkout readable and executable for "
            "it, e.g. a virtualenv made with /usr/bin/python3 outside /root (%s)"
            % (sys.executable, r.stdout.strip()[-300:])
        )
    return undo


def _remember_undo(step):
    if step:
        state = json.loads(LAB_JSON.read_text())
        state["undo"].append(step)
        LAB_JSON.write_text(json.dumps(state))


def down(wait=LOCK_WAIT):
    """Take down the lab of this machine, whoever brought it up (`xenha lab down`): power
    off every lab machine, stop every lab process, undo what the lab changed on the
    machine, remove namespaces, bridge and files.

    Works from whatever is left on disk, so it also cleans up after a killed run. Waits up
    to ``wait`` seconds for another command bringing a lab up or down.
    """
    with lock.held("taking the lab down", wait=wait):
        _remove()


def _remove():
    """What ``down`` does, under the lock."""
    undo = (lock.read(LAB_JSON) or {}).get("undo", [])
    if STATE.exists():
        for pidfile in STATE.glob("**/*.pid"):
            PidFile(pidfile).kill()
    for step in reversed(undo):
        if step[0] == "rmdir":
            with contextlib.suppress(OSError):
                os.rmdir(step[1])
        elif step[0] == "uninstall":
            install.uninstall("/")
    network.remove_all()
    shutil.rmtree(STATE, ignore_errors=True)
