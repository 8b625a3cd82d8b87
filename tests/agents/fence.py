"""Helpers for fence-agent tests: run an agent (ours, or fence-agents' as a cross-check) with
stdin options, the options that log in to a lab endpoint, and the protocol clients."""

import os
import subprocess
import threading
import time


def stdin_text(options):
    """``key=value`` lines, as the fencer writes them; an option set to None is left out."""
    return "".join("%s=%s\n" % (k, v) for k, v in options.items() if v is not None)


def run_agent(path, options=None, argv=(), timeout=60):
    """Run a fence agent (a path, or the name of one on PATH) with ``options`` as key=value
    lines on stdin; CompletedProcess (text)."""
    return subprocess.run(
        [path] + list(argv),
        input=stdin_text(options or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=timeout,
    )


# option -> the attribute of a lab endpoint (testing.Bmc, testing.Sshd) that gives it
LOGIN = {
    "ipport": "port",
    "username": "user",
    "password_file": "password_file",
    "ssl_ca_file": "ca_file",  # TLS endpoints: their self-signed certificate
    "identity_file": "identity_file",
    "known_hosts": "known_hosts",
}


def login(device, action, **extra):
    """The options that log in to the lab endpoint ``device`` on 127.0.0.1 and ask for
    ``action`` (those of ``LOGIN`` the endpoint has); ``extra`` adds to or overrides them
    (None leaves one out)."""
    opts = {"action": action, "ip": "127.0.0.1"}
    opts.update((name, getattr(device, attr, None)) for name, attr in LOGIN.items())
    opts.update(extra)
    return opts


def upstream(name, device, action, **extra):
    """Run fence-agents' ``name`` against the lab endpoint ``device``, the password on stdin
    as the fencer gives it (fence-agents reads no password file)."""
    opts = login(device, action, password=device.password, password_file=None, ssl_ca_file=None)
    opts.update(extra)
    return run_agent(name, opts)


def run_client(argv, timeout=30):
    """Run a protocol client used as a cross-check (ipmitool, net-snmp, OpenSSH);
    CompletedProcess with stderr folded into ``stdout``, less net-snmp's notice when its
    first run on a machine makes its state directory ("Created directory: ...")."""
    r = subprocess.run(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=timeout,
    )
    lines = r.stdout.splitlines(True)
    r.stdout = "".join(line for line in lines if not line.startswith("Created directory: "))
    return r


def ipmitool(bmc, *command, user=None):
    """``ipmitool -I lanplus`` against the IPMI endpoint ``bmc`` on 127.0.0.1, as its user
    or ``user``."""
    argv = ["ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", str(bmc.port)]
    argv += ["-U", user or bmc.user]
    return run_client(argv + ["-f", bmc.password_file] + list(command))


def run_watching_ps(path, options, secret, timeout=60):
    """Run the agent while sampling the full command lines of it and its children; assert
    that ``secret`` shows up in none of them, nor in the agent's output. Returns the
    CompletedProcess. Only the agent's own process tree counts: other tests running
    meanwhile may well pass the same lab secrets to their clients on the command line."""
    seen, done = [], threading.Event()
    proc = subprocess.Popen(
        [path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )

    def sample():
        while not done.is_set():
            ps = ["ps", "-e", "-ww", "-o", "pid=,ppid=,args="]
            seen.append(_tree(subprocess.check_output(ps, universal_newlines=True), proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        out, err = proc.communicate(stdin_text(options), timeout=timeout)
    finally:
        done.set()
        sampler.join()
    r = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    name = os.path.basename(path)
    assert any(name in line for lines in seen for line in lines), "%s never seen running" % name
    assert not any(secret in line for lines in seen for line in lines), "secret visible in ps"
    assert secret not in r.stdout + r.stderr
    return r


def _tree(ps_output, root):
    """The command lines of process ``root`` and its descendants in ``ps -o pid,ppid,args``."""
    rows = []
    for line in ps_output.splitlines():
        fields = line.split(None, 2)
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit():
            rows.append((int(fields[0]), int(fields[1]), fields[2] if len(fields) > 2 else ""))
    mine, grew = {root}, True
    while grew:
        grew = False
        for pid, ppid, _ in rows:
            if ppid in mine and pid not in mine:
                mine.add(pid)
                grew = True
    return [args for pid, _, args in rows if pid in mine]
