"""`xenha log` (xenha/journal.py): the lines of every log layout it reads, --since's times,
the VM and node selection, the log files found, the journal read through a fake
journalctl (its arguments, the history newest first, then --follow after the newest
cursor), and the files followed as they grow."""

import calendar
import gzip
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from tests.conftest import BIN
from xenha import install, journal
from xenha.errors import XenhaError

# 2026-12-02 04:24:12 local time, a fixed "now" for the lines without a year.
NOW = time.mktime((2026, 12, 2, 4, 30, 0, 0, 0, -1))
T0 = time.mktime((2026, 12, 2, 4, 24, 12, 0, 0, -1))
UUID = "028e180c-5d14-4a9f-8274-24f70a3940af"


def parse(line, previous=None):
    return journal.parse_line(line, "/log", previous, now=NOW, here="me")


@pytest.mark.parametrize(
    "line, fields",
    [
        (  # Pacemaker 2.1's own file
            "Dec 02 04:24:12.250 host1 pacemaker-controld  [44] (do_state_transition) \t"
            "notice: State transition S_IDLE -> S_POLICY_ENGINE",
            (T0 + 0.25, "host1", "pacemaker-controld", "44",
             "notice: State transition S_IDLE -> S_POLICY_ENGINE"),
        ),
        (  # Pacemaker 1.1's file (CentOS 7)
            "Dec 02 04:24:12 [2123] xs1       crmd:   notice: do_state_transition:\tState x",
            (T0, "xs1", "crmd", "2123", "notice: do_state_transition: State x"),
        ),
        (  # Corosync's file
            "Dec 02 04:24:12 [38] host1 corosync notice  [TOTEM ] A new membership was formed",
            (T0, "host1", "corosync", "38", "notice [TOTEM ] A new membership was formed"),
        ),
        (  # syslog (RFC 3164), an OCF agent's tag with a clone instance
            "Dec  2 04:24:12 xs2 xapi-pool-master(pool-master:0)[311]: INFO: promoted",
            (T0, "xs2", "xapi-pool-master(pool-master:0)", "311", "INFO: promoted"),
        ),
        (  # rsyslog's RFC 3339 dates
            "2026-12-02T04:24:12.500000+00:00 xs2 alert-email[9]: sent to ops@example.com",
            (calendar.timegm((2026, 12, 2, 4, 24, 12)) + 0.5, "xs2", "alert-email", "9",
             "sent to ops@example.com"),
        ),
        (  # an agent's own line in HA_LOGFILE (xenha's HA_DATEFMT)
            "xen-vm(vm-vm1)[225]:\tDec 02 04:24:12 INFO: VM %s migrated to host3" % UUID,
            (T0, "me", "xen-vm(vm-vm1)", "225", "INFO: VM %s migrated to host3" % UUID),
        ),
        (  # ... and resource-agents' default HA_DATEFMT
            "ping(ping)[77]:\t2026/12/02_04:24:12 WARNING: host 10.0.0.1 unreachable",
            (T0, "me", "ping(ping)", "77", "WARNING: host 10.0.0.1 unreachable"),
        ),
    ],
    ids=["pacemaker2", "pacemaker1.1", "corosync", "syslog", "rfc3339", "agent", "ra-datefmt"],
)  # fmt: skip
def test_every_layout_is_read_into_time_host_tag_pid_and_text(line, fields):
    r = parse(line)
    assert (r.time, r.host, r.ident, r.pid, r.message) == pytest.approx(fields)


def test_a_line_that_is_no_record_continues_the_one_before():
    first = parse("Dec 02 04:24:12 xs1 pacemaker-fenced[40]: notice: Operation 'reboot'")
    more = parse("    targeting xs2", first)
    assert (more.time, more.host, more.ident, more.message) == (T0, "xs1", first.ident,
                                                                 "targeting xs2")  # fmt: skip
    assert parse("Set r/w permissions for uid=90").ident == ""  # no record before it


def test_a_date_ahead_of_now_is_last_years():
    r = parse("Dec 31 23:59:00 xs1 corosync[1]: x")
    assert time.localtime(r.time).tm_year == 2025


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-12-02 04:00", time.mktime((2026, 12, 2, 4, 0, 0, 0, 0, -1))),
        ("2026-12-02T04:00:30", time.mktime((2026, 12, 2, 4, 0, 30, 0, 0, -1))),
        ("2026-12-01", time.mktime((2026, 12, 1, 0, 0, 0, 0, 0, -1))),
        ("04:10", time.mktime((2026, 12, 2, 4, 10, 0, 0, 0, -1))),
        ("today", time.mktime((2026, 12, 2, 0, 0, 0, 0, 0, -1))),
        ("yesterday", time.mktime((2026, 12, 1, 0, 0, 0, 0, 0, -1))),
        ("now", NOW),
        ("-30m", NOW - 1800),
        ("30 min ago", NOW - 1800),
        ("2h", NOW - 7200),
        ("2 hours ago", NOW - 7200),
        ("1d", NOW - 86400),
        ("90s ago", NOW - 90),
    ],
)
def test_since_takes_the_times_an_operator_types(text, expected):
    assert journal.parse_since(text, now=NOW) == expected


def test_a_since_it_cannot_read_is_a_clear_error():
    with pytest.raises(XenhaError, match="--since 'last tuesday': expected a time such as"):
        journal.parse_since("last tuesday", now=NOW)


def test_a_name_is_found_whole_only():
    find = journal.mentions(["vm-db"]).search
    for text in ("vm-db_start_0", "xen-vm(vm-db)", "vm-db:0 started", "on VM-DB."):
        assert find(text), text
    for text in ("vm-db2", "my-vm-db", "vm-db-2"):
        assert not find(text), text


RESOURCES = {"vm-erp-db": {"vm": UUID}, "vm-wiki": {"vm": "wiki"}}


@pytest.mark.parametrize("given", ["vm-erp-db", "erp-db", UUID, UUID.upper()])
def test_a_vm_is_found_by_its_resource_id_its_name_or_its_uuid(given):
    assert journal.resolve_vm(given, RESOURCES) == ["vm-erp-db", UUID]


def test_an_unknown_vm_names_the_known_ones():
    with pytest.raises(XenhaError, match=r"no xen-vm resource is VM 'erp'.*vm-erp-db, vm-wiki"):
        journal.resolve_vm("erp", RESOURCES)


def test_the_selection_by_vm_and_by_node():
    def rec(host, ident, message):
        return journal.Record(T0, host, ident, "1", message, "/log", None, None)

    vm = journal.Selection(["vm-erp-db", UUID])
    assert vm(rec("xs1", "xen-vm(vm-erp-db)", "INFO: started"))
    assert vm(rec("xs1", "pacemaker-execd", "notice: vm-erp-db_start_0 done"))
    assert vm(rec("xs1", "xen-vm(x)", "VM %s has no domain" % UUID))
    assert not vm(rec("xs1", "xen-vm(vm-erp-db2)", "INFO: started"))
    node = journal.Selection(node="xs2")
    assert node(rec("xs2.example.com", "corosync", "anything"))  # from it
    assert node(rec("xs1", "pacemaker-fenced", "Operation reboot of xs2 by xs1: OK"))  # about it
    assert not node(rec("xs1", "pacemaker-fenced", "Operation reboot of xs20: OK"))
    both = journal.Selection([UUID], "xs2")
    assert not both(rec("xs2", "corosync", "membership"))


def test_every_tag_of_xenha_and_the_cluster_is_ours_and_nothing_else():
    tags = set(journal.identifiers())
    for agent in install.shipped_agents(lab=True):
        name = os.path.basename(agent.relpath)
        if agent.relpath.startswith(install.OCF_DIR):
            name += "(some-resource:1)"  # resource-agents' tag: agent(instance)
        if not name.endswith(".conf"):
            assert journal.is_ours(name, tags), name
    for name in ("xenha", "pacemaker-controld", "pacemakerd", "crmd", "stonith-ng", "corosync",
                 "fence_ipmilan", "IPaddr2(ip)"):  # fmt: skip
        assert journal.is_ours(name, tags), name
    for name in ("sshd", "kernel", "xapi", "systemd", ""):
        assert not journal.is_ours(name, tags), name


def test_the_log_files_found(tmp_path):
    def touch(path):
        full = tmp_path / path.lstrip("/")
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text("")
        return str(full)

    assert journal.log_files(env={}, root=str(tmp_path)) == []
    messages = touch("/var/log/messages")
    pcmk = touch("/var/log/pacemaker/pacemaker.log")
    assert journal.log_files(env={}, root=str(tmp_path)) == [pcmk, messages]
    (tmp_path / "etc/sysconfig").mkdir(parents=True)
    (tmp_path / "etc/sysconfig/pacemaker").write_text('# x\nPCMK_logfile="/var/log/ha.log"\n')
    ha = touch("/var/log/ha.log")
    assert journal.log_files(env={}, root=str(tmp_path)) == [ha, pcmk, messages]
    own = touch("/srv/agents.log")
    assert journal.log_files(env={"HA_LOGFILE": "/srv/agents.log"}, root=str(tmp_path))[0] == own


PCMK_LOG = """\
Set r/w permissions for uid=90, gid=90 on /var/log/pacemaker/pacemaker.log
Dec 02 04:24:10.100 xs1 pacemaker-controld  [44] (te_rsc_command) \tnotice: Initiating start operation vm-erp-db_start_0 on xs1
xen-vm(vm-erp-db)[225]:\tDec 02 04:24:11 INFO: VM {uuid} started
Dec 02 04:24:13.900 xs1 pacemaker-fenced    [40] (log_op) \tnotice: Operation 'reboot' targeting xs2 by xs1: OK
""".format(uuid=UUID)  # noqa: E501
SYSLOG = """\
Dec  2 04:24:09 xs1 sshd[700]: Accepted publickey for root
Dec  2 04:24:11 xs1 xen-vm(vm-erp-db)[225]: INFO: VM {uuid} started
Dec  2 04:24:12 xs1 xenha[812]: confirmed: xs2 is powered off
Dec  2 04:24:12 xs1 kernel: eth0 link up
""".format(uuid=UUID)  # noqa: E501


@pytest.fixture
def logs(tmp_path):
    pcmk, syslog = tmp_path / "pacemaker.log", tmp_path / "syslog"
    pcmk.write_text(PCMK_LOG)
    syslog.write_text(SYSLOG)
    return [str(pcmk), str(syslog)]


def messages(records):
    return [r.message for r in records]


def test_files_are_merged_by_time_with_a_line_two_files_hold_once(logs):
    everything = journal.Selection()
    assert messages(journal.from_files(logs, everything)) == [
        "notice: Initiating start operation vm-erp-db_start_0 on xs1",
        "INFO: VM %s started" % UUID,  # in both files: once
        "confirmed: xs2 is powered off",
        "notice: Operation 'reboot' targeting xs2 by xs1: OK",
    ]  # sshd's and the kernel's lines are not the cluster's
    assert len(list(journal.from_files(logs, everything, count=1))) == 1
    assert list(journal.from_files(logs, everything, count=0)) == []
    since = list(journal.from_files(logs, everything))[2].time
    assert len(list(journal.from_files(logs, everything, since=since))) == 2
    vm = journal.Selection(["vm-erp-db", UUID])
    assert len(list(journal.from_files(logs, vm))) == 2
    assert len(list(journal.from_files(logs, journal.Selection(node="xs2")))) == 2


def test_a_line_written_twice_stays_twice(tmp_path):
    twice = "Dec 02 04:24:12 xs1 corosync[1]: [KNET  ] link: host: 2 link: 0 is down\n" * 2
    (tmp_path / "a").write_text(twice)
    (tmp_path / "b").write_text(twice[: len(twice) // 2])  # one copy in the other file
    paths = [str(tmp_path / "a"), str(tmp_path / "b")]
    assert len(list(journal.from_files(paths, journal.Selection()))) == 2


def test_no_file_to_read_is_a_clear_error(tmp_path):
    with pytest.raises(XenhaError, match="no journal and no log file to read"):
        list(journal.from_files([], journal.Selection()))
    missing = str(tmp_path / "nope.log")
    with pytest.raises(XenhaError, match="cannot read the log file .*nope.log: No such file"):
        list(journal.from_files([missing], journal.Selection()))


# -- the command -------------------------------------------------------------------------------


def entry(t, ident, message, host="xs1", cursor=None):
    return json.dumps({"__REALTIME_TIMESTAMP": str(int(t * 1e6)), "_HOSTNAME": host,
                       "SYSLOG_IDENTIFIER": ident, "_PID": "42", "MESSAGE": message,
                       "PRIORITY": "5", "__CURSOR": cursor or "c-%d" % t})  # fmt: skip


@pytest.fixture
def tools(tmp_path):
    """A directory first on PATH for fake tools; ``make(name, script)``; ``env``."""
    d = tmp_path / "bin"
    d.mkdir()

    def make(name, body):
        (d / name).write_text("#!/bin/sh\n" + body)
        (d / name).chmod(0o755)

    make.env = dict(os.environ, PATH="%s:%s" % (d, os.environ["PATH"]))
    make.dir = d
    return make


@pytest.fixture
def journalctl(tools):
    """A fake journalctl: the history (``history.json``, newest first, as --reverse reads
    it), and with --follow the lines of ``follow.json``, then it waits to be killed."""
    d = tools.dir
    tools(
        "journalctl",
        'echo "$@" >> "{d}/args"\n'
        'case " $* " in *" --follow "*)\n'
        '  echo $$ > "{d}/follow.pid"; cat "{d}/follow.json"; exec sleep 60;;\n'
        "esac\n"
        'cat "{d}/history.json"\n'.format(d=d),
    )
    history = [entry(T0 + 3, "alert-email", "sent to ops@example.com", cursor="newest"),
               entry(T0 + 2, "xen-vm(vm-erp-db)", "INFO: VM %s started" % UUID),
               entry(T0 + 1, "pacemaker-controld", "notice: Initiating start of vm-wiki"),
               "not json"]  # fmt: skip
    (d / "history.json").write_text("\n".join(history) + "\n")
    (d / "follow.json").write_text(entry(T0 + 4, "corosync", "new membership", host="xs2") + "\n")
    return tools


def xenha_log(tools, *args):
    r = subprocess.run([os.path.join(BIN, "xenha"), "log", "--source", "journal"] + list(args),
                       env=tools.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=30)  # fmt: skip
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_the_journal_is_asked_for_xenhas_tags_and_the_clusters_units(journalctl):
    r = xenha_log(journalctl, "--since", "2026-12-02 04:00")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [line.split(" ", 3)[2] for line in lines] == [
        "pacemaker-controld[42]:", "xen-vm(vm-erp-db)[42]:", "alert-email[42]:"]  # fmt: skip
    assert lines[0].startswith(journal.format_time(T0 + 1) + " xs1 pacemaker-controld[42]: ")
    [args] = (journalctl.dir / "args").read_text().splitlines()
    args = args.split(" ")
    assert args[:5] == ["--output=json", "--no-pager", "--quiet", "--since=2026-12-02", "04:00:00"]
    assert "--reverse" in args and "SYSLOG_IDENTIFIER=alert-email" in args
    assert "SYSLOG_IDENTIFIER=fence_xenha_ilo" in args and "SYSLOG_IDENTIFIER=xenha" in args
    plus = args.index("+")
    assert all(a.startswith("SYSLOG_IDENTIFIER=") for a in args[5:plus] if a != "--reverse")
    assert "_SYSTEMD_UNIT=pacemaker.service" in args[plus:]
    assert "_SYSTEMD_UNIT=corosync.service" in args[plus:]


def test_the_last_lines_then_new_ones_after_the_newest_cursor(journalctl):
    argv = [os.path.join(BIN, "xenha"), "log", "--source", "journal", "-n", "2", "-f", "--json"]
    proc = subprocess.Popen(argv, env=journalctl.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True)  # fmt: skip
    try:
        got = [json.loads(proc.stdout.readline()) for _ in range(3)]
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(10)
    assert rc == 0 and "Traceback" not in proc.stderr.read()
    assert [g["ident"] for g in got] == ["xen-vm(vm-erp-db)", "alert-email", "corosync"]
    assert got[2] == {"time": journal.format_time(T0 + 4), "epoch": T0 + 4, "host": "xs2",
                      "ident": "corosync", "pid": 42, "message": "new membership",
                      "priority": 5, "source": "journal"}  # fmt: skip
    follow = (journalctl.dir / "args").read_text().splitlines()[1].split(" ")
    assert "--follow" in follow and "--after-cursor=newest" in follow
    assert gone(int((journalctl.dir / "follow.pid").read_text())), "journalctl outlived it"


def gone(pid):
    """Whether process ``pid`` has ended (a zombie nobody reaps counts as ended)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return "\nState:\tZ" in f.read()
    except FileNotFoundError:
        return True


def test_vm_and_node_select_lines_naming_them(journalctl):
    journalctl("cibadmin", "cat <<'EOF'\n<resources><primitive id=\"vm-erp-db\" class=\"ocf\" "
               "provider=\"xenha\" type=\"xen-vm\"><instance_attributes id=\"a\"><nvpair id=\"b\""
               " name=\"vm\" value=\"%s\"/></instance_attributes></primitive></resources>\nEOF\n"
               % UUID)  # fmt: skip
    r = xenha_log(journalctl, "--vm", "erp-db")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1 and UUID in r.stdout
    r = xenha_log(journalctl, "--vm", "nope")
    assert r.returncode == 1 and "no xen-vm resource is VM 'nope' (the CIB's: vm-erp-db)" in (
        r.stderr
    )
    r = xenha_log(journalctl, "--node", "xs1", "-n", "all")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3


def test_without_the_cib_a_vm_is_matched_as_given(journalctl):
    journalctl("cibadmin", "echo 'Could not connect to the CIB' >&2; exit 102\n")
    r = xenha_log(journalctl, "--vm", UUID)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1
    assert "warning: cannot read the CIB" in r.stderr


def test_a_failing_journalctl_and_bad_arguments_are_clear_errors(tools):
    tools("journalctl", "echo 'Failed to open journal: Permission denied' >&2; exit 1\n")
    r = xenha_log(tools)
    assert r.returncode == 1
    assert r.stderr == (
        "xenha: error: journalctl failed (rc 1): Failed to open journal: Permission denied\n"
    )
    for bad in (["-n", "many"], ["--since", "someday"]):
        r = xenha_log(tools, *bad)
        assert r.returncode in (1, 2) and "error" in r.stderr and "Traceback" not in r.stderr


def test_files_are_followed_as_they_grow_and_when_rotated(tmp_path):
    log = tmp_path / "pacemaker.log"
    log.write_text(PCMK_LOG)
    argv = [os.path.join(BIN, "xenha"), "log", "--file", str(log), "-n", "1", "-f"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)  # fmt: skip
    try:
        first = proc.stdout.readline()
        with open(str(log), "a") as f:
            f.write("Dec 02 04:25:00 [40] xs1 corosync notice  [TOTEM ] new ring\n")
            f.write("Dec 02 04:25:01 xs1 sshd[1]: not ours\n")
        grown = proc.stdout.readline()
        log.write_text("Dec 02 04:26:00 xs1 xenha[3]: after the rotation\n")
        rotated = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(10)
    assert rc == 0, proc.stderr.read()
    assert "targeting xs2 by xs1: OK" in first
    assert grown.endswith(" xs1 corosync[40]: notice [TOTEM ] new ring\n")
    assert rotated.endswith(" xs1 xenha[3]: after the rotation\n")


JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


@pytest.mark.skipif(
    not os.path.exists(JOURNAL_REMOTE) or shutil.which("journalctl") is None,
    reason="needs journalctl and systemd-journal-remote (to write a journal file)",
)
def test_the_real_journalctl_selects_xenhas_tags_and_the_clusters_units(tools, tmp_path):
    """A journal file (systemd-journal-remote from export format) read by the real
    journalctl with the matches xenha gives it: the tags OR the units."""
    entries = [
        {"SYSLOG_IDENTIFIER": "xenha", "MESSAGE": "confirmed: xs2 is powered off"},
        {"SYSLOG_IDENTIFIER": "xen-vm(vm-db)", "_SYSTEMD_UNIT": "pacemaker.service",
         "MESSAGE": "INFO: VM %s started" % UUID},
        {"SYSLOG_IDENTIFIER": "sshd", "_SYSTEMD_UNIT": "ssh.service", "MESSAGE": "not ours"},
        {"SYSLOG_IDENTIFIER": "corosync", "_SYSTEMD_UNIT": "corosync.service",
         "MESSAGE": "[TOTEM ] A new membership was formed"},
    ]  # fmt: skip
    start = int((time.time() - 60) * 1e6)
    export = tmp_path / "export"
    with open(str(export), "w") as f:
        for i, e in enumerate(entries):
            f.write("__CURSOR=s=0;i=%d\n__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n"
                    "_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=xs1\n"
                    % (i, start + i * 1000000, i + 1))  # fmt: skip
            f.write("".join("%s=%s\n" % kv for kv in e.items()) + "\n")
    journal_file = tmp_path / "system.journal"
    subprocess.run([JOURNAL_REMOTE, "-o", str(journal_file), str(export)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    tools("journalctl", 'exec %s --file=%s "$@"\n' % (shutil.which("journalctl"), journal_file))
    r = xenha_log(tools)
    assert r.returncode == 0, r.stderr
    assert [line.split(" ", 2)[2] for line in r.stdout.splitlines()] == [
        "xenha: confirmed: xs2 is powered off",
        "xen-vm(vm-db): INFO: VM %s started" % UUID,
        "corosync: [TOTEM ] A new membership was formed",
    ]
    r = xenha_log(tools, "--since", "2 min ago", "-n", "1")
    assert r.returncode == 0 and r.stdout.endswith("A new membership was formed\n"), r.stderr


def test_rotated_copies_are_read_for_since_and_all_lines_only(tmp_path):
    syslog = tmp_path / "syslog"
    syslog.write_text(SYSLOG)
    oldest = "Dec  1 23:10:00 xs1 xenha[700]: maintenance on (for 1h)\n"
    older = "Dec  2 01:00:00 xs1 corosync[9]: [TOTEM ] A new membership\n"
    gz, one = str(tmp_path / "syslog.2.gz"), str(tmp_path / "syslog.1")
    with gzip.open(gz, "wt") as f:
        f.write(oldest)
    (tmp_path / "syslog.1").write_text(older)
    (tmp_path / "syslog.bak").write_text(oldest)  # not a rotated copy
    for path, line in ((gz, oldest), (one, older)):  # last written when its last line was
        written = journal.parse_line(line.strip(), path).time
        os.utime(path, (written, written))
    paths, everything = [str(syslog)], journal.Selection()
    assert journal.rotated(str(syslog)) == [gz, one]
    every = messages(journal.from_files(paths, everything, count=None))
    assert every[:2] == ["maintenance on (for 1h)", "[TOTEM ] A new membership"]
    assert len(every) == 4
    # The last lines: the current file only; since midnight: syslog.1 too, not syslog.2.gz.
    last = messages(journal.from_files(paths, everything, count=50))
    assert "[TOTEM ] A new membership" not in last
    midnight = journal.parse_line("Dec  2 00:00:00 xs1 x: y", one).time
    recent = messages(journal.from_files(paths, everything, since=midnight))
    assert recent[0] == "[TOTEM ] A new membership" and "maintenance on (for 1h)" not in recent
