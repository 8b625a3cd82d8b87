"""Drive the installed OCF agents as Pacemaker would, against the XAPI simulator.

Each action runs the launcher ``xenha install`` wrote, in a fresh process, with
the environment Pacemaker's executor sets (OCF_ROOT, OCF_RESOURCE_INSTANCE,
OCF_RESKEY_*, OCF_RESKEY_CRM_meta_* with the node name in ``on_node``,
HA_RSCTMP). There is no running cluster here, so the two Pacemaker tools the
agents ask are supplied on PATH: ``stonith_admin`` prints the fencing history
the test recorded, in the XML format of Pacemaker 2.1's ``stonith_admin
--history --output-as=xml``; ``crm_attribute`` records the promotion scores.

Each node also has a hypervisor of its own: a directory first on PATH for that node's
agent runs, holding the lab's ``list_domains`` for the node's pool host
(xenha.lab.pool.list_domains), which prints the simulator's truth for that one host in
the real tool's format.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import time

from xenha.lab.pool import list_domains

PREFIX = "ocf-exit-reason:"
# When a recorded fence completes by default: the simulated pool's times of a host (its
# VMs' starts, its last sign of life) are from the second the test began, and a fence
# counts only xenha.pacemaker.CLOCK_MARGIN seconds after them. A real one completes no
# sooner than corosync notices the loss (token + consensus: 2.86 s with the fast timing).
FENCE_TAKES = 3.0

# crm_attribute as the agents use it: promotion scores are logged; a node's transient
# attributes (--name, --lifetime=reboot) are kept per node, and a query of one that is not
# set exits 105 as Pacemaker >= 2.1 does; a delete fails while "<attribute file>.stuck"
# exists (the CIB out of reach).
CRM_ATTRIBUTE = """\
echo "$@" >> "%(dir)s/crm_attribute.log"
node="$OCF_RESKEY_CRM_meta_on_node"; name=""; op=""; value=""
for a in "$@"; do
  case "$a" in
    --node=*) node="${a#--node=}";;
    --name=*) name="${a#--name=}";;
    --update=*) op=update; value="${a#--update=}";;
    --delete) op=delete;;
    --query) op=query;;
  esac
done
[ -n "$name" ] || exit 0
f="%(dir)s/attrs/$node.$name"
case "$op" in
  update) mkdir -p "%(dir)s/attrs"; printf %%s "$value" > "$f";;
  delete) [ ! -f "$f.stuck" ] || { echo "Could not connect to the CIB" >&2; exit 102; }
          rm -f "$f";;
  query) [ -f "$f" ] || { echo "Error performing operation: No such device" >&2; exit 105; }
         cat "$f"; echo;;
esac
"""


def utc(epoch):
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.reasons = [
            line[len(PREFIX) :] for line in proc.stderr.splitlines() if line.startswith(PREFIX)
        ]

    @property
    def reason(self):
        return self.reasons[0] if self.reasons else ""

    def __repr__(self):
        return "Result(rc=%d, reasons=%r, stderr=%r)" % (self.rc, self.reasons, self.stderr)


class Pacemaker:
    """What the agents see of Pacemaker on one simulated cluster."""

    def __init__(self, sim, ocf_dir, python=None):
        self.sim = sim
        self.ocf_dir = ocf_dir
        self.python = python  # list_domains' interpreter (default: this one)
        self.dir = tempfile.mkdtemp(prefix="xenha-pcmk-")
        self.bin = os.path.join(self.dir, "bin")
        self.rsctmp = os.path.join(self.dir, "rsctmp")
        os.mkdir(self.bin)
        self.events = []
        self.fencer_rc = 0
        self._shim(
            "stonith_admin",
            'cat "%s/history.xml"\nexit $(cat "%s/history.rc")\n' % (self.dir, self.dir),
        )
        self._shim("crm_attribute", CRM_ATTRIBUTE % {"dir": self.dir})
        self._shim("crm_node", 'cat "%s/members"\n' % self.dir)  # crm_node -l
        self._write_history()
        self._write_members()
        self.hypervisors = os.path.join(self.dir, "hypervisors")
        self.host_of = {}  # node -> the pool host it runs on, when not the host of its name
        for h in sim.hosts:
            self.hypervisor_answers(h.name)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def _shim(self, name, body):
        path = os.path.join(self.bin, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)

    def place(self, node, host):
        """Node ``node`` is pool host ``host``: its agents ask that host's hypervisor."""
        self.host_of[node] = host
        self.hypervisor_answers(node)

    def hypervisor_answers(self, node):
        """``node``'s list_domains prints its host's domains (the simulator's truth)."""
        host = self.host_of.get(node, node)
        where = os.path.join(self.hypervisors, node)
        if self.python:
            list_domains.write_wrapper(where, host, self.sim.control_url, self.python)
        else:
            list_domains.write_wrapper(where, host, self.sim.control_url)

    def hypervisor_fails(self, node, body):
        """``node``'s list_domains is the shell script ``body`` instead (it hangs, fails,
        prints something else) until :meth:`hypervisor_answers`."""
        path = os.path.join(self.hypervisors, node, "list_domains")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)

    def fence(self, node, when=None, action="off", status="success"):
        """Record a fencing operation against ``node`` completed at ``when`` (epoch; default
        FENCE_TAKES seconds from now, as a real fence completes after the loss of the host
        was noticed, well after the pool's last record of it)."""
        when = time.time() + FENCE_TAKES if when is None else when
        self.events.append((node, action, status, when))
        self._write_history()

    def reboot(self, node):
        """``node`` boots again: its /run (the agents' state and sessions) is empty, and
        the cluster dropped its transient attributes when it left."""
        shutil.rmtree(os.path.join(self.rsctmp, node), ignore_errors=True)
        for name in glob.glob(os.path.join(self.dir, "attrs", node + ".*")):
            os.remove(name)

    def node_attribute(self, node, name):
        """``node``'s transient attribute ``name`` as the agents set it, None if unset."""
        try:
            with open(os.path.join(self.dir, "attrs", "%s.%s" % (node, name))) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def history_lost(self):
        """The whole cluster restarted: the fencer remembers no fencing operation."""
        self.events = []
        self._write_history()

    def fencer_down(self):
        """The fencer does not answer: stonith_admin says so, as the real one does."""
        self.fencer_rc = 102
        self._write_history()

    def _write_history(self):
        if self.fencer_rc:
            doc = (
                '<pacemaker-result api-version="2.25" request="stonith_admin">\n'
                '  <status code="102" message="Not connected">\n'
                "    <errors>\n"
                "      <error>Could not connect to fencer: Transport endpoint is not connected"
                "</error>\n"
                "    </errors>\n"
                "  </status>\n"
                "</pacemaker-result>\n"
            )
        else:
            items = "".join(
                '    <fence_event action="%s" target="%s" client="pacemaker-controld.1342" '
                'origin="host3" status="%s" delegate="host3" completed="%s"/>\n'
                % (action, node, status, utc(when))
                for node, action, status, when in self.events
            )
            doc = (
                '<pacemaker-result api-version="2.25" request="stonith_admin --history">\n'
                '  <list name="fencing history" count="%d">\n%s  </list>\n'
                '  <status code="0" message="OK"/>\n'
                "</pacemaker-result>\n"
            ) % (len(self.events), items)
        with open(os.path.join(self.dir, "history.xml"), "w") as f:
            f.write(doc)
        with open(os.path.join(self.dir, "history.rc"), "w") as f:
            f.write(str(self.fencer_rc))

    def scores(self):
        """The promotion scores the agents set (crm_attribute --promotion), one argument
        string each."""
        try:
            with open(os.path.join(self.dir, "crm_attribute.log")) as f:
                return [line for line in f.read().splitlines() if "--promotion" in line]
        except FileNotFoundError:
            return []

    def env(self, node, instance, params=None, meta=None, depth=None, extra=None):
        """The environment Pacemaker's executor gives an agent on ``node`` (``extra``:
        more variables, such as HA_LOGFILE)."""
        env = {
            "PATH": os.pathsep.join(
                [os.path.join(self.hypervisors, node), self.bin, os.environ["PATH"]]
            ),
            "OCF_ROOT": "/usr/lib/ocf",
            "OCF_RA_VERSION_MAJOR": "1",
            "OCF_RA_VERSION_MINOR": "1",
            "OCF_RESOURCE_INSTANCE": instance,
            "HA_RSCTMP": os.path.join(self.rsctmp, node),  # each node has its own /run
            "OCF_RESKEY_xapi_url": next((h.url for h in self.sim.hosts if h.name == node), ""),
            # the host's /etc/xensource/pool.conf (xapi-pool-master reads it)
            "OCF_RESKEY_pool_conf": next(
                (h.pool_conf for h in self.sim.hosts if h.name == node), "<unset>"
            ),
            # the host's /var/lib/xenha (kept across its reboots, unlike HA_RSCTMP)
            "OCF_RESKEY_pool_record": os.path.join(self.dir, "records", node, "record.json"),
            "OCF_RESKEY_xapi_password_file": self.sim.password_file,
            "OCF_RESKEY_CRM_meta_on_node": node,
            "OCF_RESKEY_CRM_meta_timeout": "20000",
        }
        if depth is not None:
            env["OCF_CHECK_LEVEL"] = str(depth)
        env.update({"OCF_RESKEY_" + k: str(v) for k, v in (params or {}).items()})
        env.update({"OCF_RESKEY_CRM_meta_" + k: str(v) for k, v in (meta or {}).items()})
        env.update(extra or {})
        return {k: v for k, v in env.items() if v != "<unset>"}

    def _write_members(self):
        """The membership ``crm_node -l`` reports: the simulated hosts powered on."""
        with open(os.path.join(self.dir, "members"), "w") as f:
            for i, h in enumerate(self.sim.hosts, 1):
                up = self.sim.host_state(h.name)["up"]
                f.write("%d %s %s\n" % (i, h.name, "member" if up else "lost"))

    def run(
        self, agent, action, node, instance="rsc", params=None, meta=None, depth=None, extra=None
    ):
        """Run ``agent action`` on ``node``; ``<unset>`` as a value removes the variable."""
        self._write_members()
        proc = subprocess.run(
            [os.path.join(self.ocf_dir, agent), action],
            env=self.env(node, instance, params, meta, depth, extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=120,
        )
        return Result(proc)
