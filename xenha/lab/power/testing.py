"""Start the lab's protocol servers for tests and benchmarks; always stopped by PID afterwards."""

import contextlib
import dataclasses
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from xenha.lab.power.rack import Rack


def free_port(kind=socket.SOCK_DGRAM):
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def secret_file(directory, secret, name="secret"):
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return path


@contextlib.contextmanager
def process(argv, ready, timeout=15, **kw):
    """Run ``argv``; wait for a stdout line containing ``ready`` or, for a server that
    says nothing, until ``ready()`` is true; stop it by PID on exit."""
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        **kw,
    )
    try:
        if callable(ready):
            _wait_until(proc, ready, timeout)
        else:
            _wait_for_line(proc, ready, timeout)
        # Keep reading so a chatty server never blocks on a full pipe.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_line(proc, ready, timeout):
    seen = []
    while True:
        r, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline() if r else ""
        if not line:
            raise RuntimeError("%s did not start: %s" % (proc.args[0], "".join(seen)[-2000:]))
        seen.append(line)
        if ready in line:
            return


def _wait_until(proc, ready, timeout):
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            output = proc.stdout.read() if proc.poll() is not None else ""
            raise RuntimeError("%s did not start: %s" % (proc.args[0], output[-2000:]))
        time.sleep(0.1)


def rmcp_pong(port, address="127.0.0.1"):
    """True once an RMCP presence ping (DMTF ASF, as ``rmcp_ping`` sends) to ``port``
    gets its pong: the BMC's UDP socket is bound and served."""
    ping = bytes([6, 0, 0xFF, 6]) + bytes([0, 0, 0x11, 0xBE, 0x80, 0, 0, 0])  # IANA 4542
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(ping, (address, port))
            return s.recv(512)[8:9] == b"\x40"  # ASF message type: presence pong
        except OSError:
            return False


@dataclasses.dataclass
class Bmc:
    """A running lab BMC: where it listens and how to log in; ``ca_file`` is the self-signed
    certificate of an HTTPS/TLS endpoint (None for IPMI)."""

    rack: Rack
    machine: str
    port: int
    user: str
    password: str
    password_file: str
    ca_file: str = None

    @property
    def power(self):
        return self.rack.state("machines", self.machine)


@contextlib.contextmanager
def ipmi_bmc(rack, machine, user="admin", password="lab-ipmi-secret"):
    """An IPMI lanplus BMC for ``machine`` of ``rack`` on a free UDP port of 127.0.0.1."""
    with tempfile.TemporaryDirectory(prefix="xenha-bmc-") as tmp:
        pwfile = secret_file(tmp, password)
        port = free_port()
        argv = [sys.executable, "-m", "xenha.lab.power.ipmi_bmc", "--rack", rack.path]
        argv += ["--machine", machine, "--port", str(port), "--user", user]
        argv += ["--password-file", pwfile]
        with process(argv, "listening"):
            yield Bmc(rack, machine, port, user, password, pwfile)


# ipmi_sim's configuration (ipmi_lan(5)): one LAN channel on the loopback (no
# allowed_auths_* lines: no IPMI 1.5 logins, RMCP+ only), the one admin user, and the rack
# machine's power behind the chassis control program.
IPMI_SIM_LAN_CONF = """name "xenha-ipmi-sim"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 %(port)d
    priv_limit admin
    guid %(guid)s
  endlan
  chassis_control "%(chassis_control)s"
  user 2 true "%(user)s" "%(password)s" admin 10 md5
"""
# ipmi_sim's command file (ipmi_sim_cmd(5)): one MC at the BMC's IPMB address 20h.
IPMI_SIM_EMU = """mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02
mc_enable 0x20
"""


@contextlib.contextmanager
def ipmi_sim(rack, machine, user="admin", password="sim-ipmi-secret"):
    """OpenIPMI's BMC simulator ``ipmi_sim`` on a free UDP port of 127.0.0.1, switching
    ``machine`` of ``rack`` through ``xenha.lab.power.chassis_control``."""
    with tempfile.TemporaryDirectory(prefix="xenha-ipmi-sim-") as tmp:
        port = free_port()
        chassis = "%s -m xenha.lab.power.chassis_control --rack %s --machine %s"
        values = {
            "port": port,
            "guid": uuid.uuid4().hex,
            "chassis_control": chassis % (sys.executable, rack.path, machine),
            "user": user,
            "password": password,
        }
        conf = secret_file(tmp, IPMI_SIM_LAN_CONF % values, "lan.conf")
        emu = os.path.join(tmp, "bmc.emu")
        with open(emu, "w") as f:
            f.write(IPMI_SIM_EMU)
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        argv = ["ipmi_sim", "-n", "-c", conf, "-f", emu, "-s", state]
        with process(argv, lambda: rmcp_pong(port)):
            yield Bmc(rack, machine, port, user, password, secret_file(tmp, password))


@contextlib.contextmanager
def rack(machines=("node1",), outlets=()):
    """A fresh rack file in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="xenha-rack-") as tmp:
        yield Rack.create(os.path.join(tmp, "rack.json"), machines, outlets)


@dataclasses.dataclass
class Pdu:
    """A running lab PDU: its port and communities (v1/v2c) and SNMPv3 user
    ``(name, auth key, privacy key)``."""

    rack: Rack
    port: int
    read_community: str
    write_community: str
    v3_user: tuple

    def outlet(self, number):
        return self.rack.state("outlets", number)


@contextlib.contextmanager
def apc_pdu(rack, read_community="lab-read", write_community="lab-write-secret"):
    """net-snmp snmpd serving ``rack``'s outlets as an APC rack PDU on a free UDP port."""
    from xenha.lab.power import apc_pdu as pdu

    v3_user = ("labuser", "lab-auth-secret", "lab-priv-secret")
    with tempfile.TemporaryDirectory(prefix="xenha-pdu-") as tmp:
        port = free_port()
        conf = os.path.join(tmp, "snmpd.conf")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            communities = [(read_community, "ro"), (write_community, "rw")]
            f.write(pdu.snmpd_conf(port, communities, rack.path, [v3_user]))
        argv = [sys.executable, "-m", "xenha.lab.power.apc_pdu", "serve", "--conf", conf]
        argv += ["--state-dir", tmp]
        with process(argv, "NET-SNMP version"):
            yield Pdu(rack, port, read_community, write_community, v3_user)


@dataclasses.dataclass
class Sshd:
    """A running lab sshd: its port, the client key and a known_hosts file holding its host key."""

    rack: Rack
    port: int
    identity_file: str
    known_hosts: str
    user: str


def ssh_keygen(path):
    """A new ed25519 key pair without passphrase at ``path``; returns the public key line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "xenha-lab", "-f", path],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(path + ".pub") as f:
        return f.read().strip()


@contextlib.contextmanager
def sshd(rack, machine):
    """OpenSSH's sshd on a free port of 127.0.0.1 with its own keys and config; every login
    runs the lab power shell (racadm for ``machine``, ``power`` for any machine)."""
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    with tempfile.TemporaryDirectory(prefix="xenha-sshd-") as tmp:
        port = free_port(socket.SOCK_STREAM)
        host_key = os.path.join(tmp, "host_key")
        host_pub = ssh_keygen(host_key)
        client_key = os.path.join(tmp, "client_key")
        client_pub = ssh_keygen(client_key)
        forced = "%s -m xenha.lab.power.power_shell --rack %s --machine %s" % (
            sys.executable,
            rack.path,
            machine,
        )
        authorized = os.path.join(tmp, "authorized_keys")
        with open(authorized, "w") as f:
            f.write('command="%s",no-pty,no-port-forwarding %s\n' % (forced, client_pub))
        known_hosts = os.path.join(tmp, "known_hosts")
        with open(known_hosts, "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (port, " ".join(host_pub.split()[:2])))
        conf = os.path.join(tmp, "sshd_config")
        with open(conf, "w") as f:
            f.write(
                "ListenAddress 127.0.0.1\nPort %d\nHostKey %s\nAuthorizedKeysFile %s\n"
                "PidFile %s/sshd.pid\nUsePAM no\nStrictModes no\nPermitRootLogin "
                "prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                "LogLevel INFO\n" % (port, host_key, authorized, tmp)
            )
        argv = ["/usr/sbin/sshd", "-D", "-e", "-f", conf]
        with process(argv, "Server listening"):
            yield Sshd(rack, port, client_key, known_hosts, "root")


def tls_certificate(directory, name="127.0.0.1"):
    """A self-signed certificate for ``name`` (an IP address); returns (cert, key) paths."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-days", "2", "-subj", "/CN=%s" % name, "-addext"]
        + ["subjectAltName=IP:%s" % name, "-keyout", key, "-out", cert],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return cert, key


@contextlib.contextmanager
def tls_bmc(module, rack, machine, user, password):
    """Run ``xenha.lab.power.<module>`` (an HTTPS/TLS endpoint) for ``machine``."""
    with tempfile.TemporaryDirectory(prefix="xenha-%s-" % module) as tmp:
        pwfile = secret_file(tmp, password)
        cert, key = tls_certificate(tmp)
        port = free_port(socket.SOCK_STREAM)
        argv = [sys.executable, "-m", "xenha.lab.power." + module, "--rack", rack.path]
        argv += ["--machine", machine, "--port", str(port), "--cert", cert, "--key", key]
        argv += ["--user", user, "--password-file", pwfile]
        with process(argv, "listening"):
            yield Bmc(rack, machine, port, user, password, pwfile, ca_file=cert)


def redfish_bmc(rack, machine, user="admin", password="lab-redfish-secret"):
    """The lab Redfish service for ``machine`` over HTTPS on a free TCP port of 127.0.0.1."""
    return tls_bmc("redfish", rack, machine, user, password)


def ribcl_ilo(rack, machine, user="Administrator", password="lab-ilo-secret"):
    """The lab iLO (RIBCL over TLS) for ``machine`` on a free TCP port of 127.0.0.1."""
    return tls_bmc("ribcl", rack, machine, user, password)
