"""Start the lab's protocol servers for tests and benchmarks; always stopped by PID afterwards."""

import base64
import contextlib
import dataclasses
import json
import os
import queue
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
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
        _wait_started(proc, ready, timeout)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_started(proc, ready, timeout):
    """Until a stdout line contains ``ready`` (a text) or ``ready()`` is true, reading the
    output in a thread all along: a server that writes several lines at once (Flask's start
    banner) leaves them in the pipe's buffer, where select() does not see them, and a
    chatty one must never block on a full pipe."""
    lines, started = queue.Queue(), threading.Event()

    def pump():
        for line in proc.stdout:  # read to the end
            if not started.is_set():
                lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    seen, deadline = [], time.monotonic() + timeout
    while True:
        if callable(ready) and ready():
            break
        wait = 0.1 if callable(ready) else max(0.0, deadline - time.monotonic())
        try:
            line = lines.get(timeout=wait)
        except queue.Empty:
            line = None
        if line == "" or time.monotonic() > deadline:  # the end of its output, or too late
            raise RuntimeError("%s did not start: %s" % (proc.args[0], "".join(seen)[-2000:]))
        if line:
            seen.append(line)
            if not callable(ready) and ready in line:
                break
    started.set()


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


def redfish_get(bmc, path):
    """The JSON at ``path`` of the Redfish service ``bmc`` (a :class:`Bmc` or
    :class:`Sushy`), read with HTTP Basic, which opens no session."""
    login = base64.b64encode(("%s:%s" % (bmc.user, bmc.password)).encode()).decode()
    request = urllib.request.Request(
        "https://127.0.0.1:%d%s" % (bmc.port, path), headers={"Authorization": "Basic " + login}
    )
    context = ssl.create_default_context(cafile=bmc.ca_file)
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        return json.load(response)


def redfish_sessions(bmc):
    """``(open, ever opened)`` sessions of the lab Redfish service ``bmc``."""
    service = redfish_get(bmc, "/redfish/v1/SessionService")
    opened = service["Oem"]["XenhaLab"]["SessionsOpened"]
    return redfish_get(bmc, service["Sessions"]["@odata.id"])["Members@odata.count"], opened


@dataclasses.dataclass
class Sushy:
    """A running sushy-tools Redfish emulator (OpenStack's) with one fake system; ``power``
    reads its PowerState through the emulator's own Redfish API."""

    port: int
    user: str
    password: str
    password_file: str
    ca_file: str
    system: str

    @property
    def power(self):
        return redfish_get(self, self.system)["PowerState"].lower()


@contextlib.contextmanager
def sushy_emulator(user="admin", password="lab-sushy-secret", power="On"):
    """sushy-tools' ``sushy-emulator`` over HTTPS on a free TCP port of 127.0.0.1, with its
    fake driver (no libvirt, no OpenStack): one system, powered ``power``, behind HTTP
    Basic. Its power actions take effect 1 to 11 seconds later, as on hardware."""
    import bcrypt  # sushy-tools' own dependency, for its htpasswd file

    with tempfile.TemporaryDirectory(prefix="xenha-sushy-") as tmp:
        cert, key = tls_certificate(tmp)
        htpasswd = os.path.join(tmp, "htpasswd")
        with open(htpasswd, "w") as f:
            f.write("%s:%s\n" % (user, bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()))
        port = free_port(socket.SOCK_STREAM)
        system = {
            "uuid": "0b5a4c1e-7d43-4b3a-9f61-5d9a00000001",
            "name": "node1",
            "power_state": power,
            "nics": [{"mac": "02:00:00:00:00:01", "ip": "127.0.0.2"}],
        }
        conf = os.path.join(tmp, "emulator.conf")
        with open(conf, "w") as f:
            for name, value in [
                ("LISTEN_IP", "127.0.0.1"),
                ("LISTEN_PORT", port),
                ("SSL_CERT", cert),
                ("SSL_KEY", key),
                ("AUTH_FILE", htpasswd),
                ("FAKE_DRIVER", True),
                ("FAKE_SYSTEMS", [system]),
                ("STATE_DIR", tmp),
            ]:
                f.write("SUSHY_EMULATOR_%s = %r\n" % (name, value))
        argv = [os.path.join(os.path.dirname(sys.executable), "sushy-emulator"), "--config", conf]
        with process(argv, "Running on"):
            yield Sushy(
                port,
                user,
                password,
                secret_file(tmp, password),
                cert,
                "/redfish/v1/Systems/" + system["uuid"],
            )


def ribcl_ilo(rack, machine, user="Administrator", password="lab-ilo-secret"):
    """The lab iLO (RIBCL over TLS) for ``machine`` on a free TCP port of 127.0.0.1."""
    return tls_bmc("ribcl", rack, machine, user, password)
