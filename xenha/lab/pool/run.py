"""Run a simulated pool until terminated; print its endpoints (``xenha lab sim`` and
``python -m xenha.lab.pool``)."""

import argparse
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading

from . import state
from .certificates import HostCertificates, record
from .control import Control, ControlServer, ControlSocket
from .netns import Prober
from .options import add_arguments
from .rpc import Dispatcher
from .server import follow_xapi_state, serve

TICK = 0.1  # seconds between liveness/replication steps


def password_file(directory):
    path = os.path.join(directory, "xapi.secret")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(18) + "\n")
    with open(path) as f:
        return path, f.read().strip()


def start(args):
    """Build and serve the pool; return (info dict, pool)."""
    directory = args.state_dir or tempfile.mkdtemp(prefix="xapisim-")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    pw_path, password = password_file(directory)
    desc = state.load(args.state_file) if args.state_file else state.describe(args.hosts, args.vms)
    pool = state.build(desc, password, args.first_address)
    for h in pool.hosts:  # where the host's dom0 has /etc/xensource/pool.conf
        h.pool_conf_path = h.pool_conf_path or os.path.join(directory, h.name, "pool.conf")
        h.write_pool_conf(h.pool_conf)
    contexts, bundle = None, None
    if args.https:  # each host its own certificate, as XCP-ng 8.2+ / XenServer 8
        pool.certificates = HostCertificates(os.path.join(directory, "certificates"))
        for h in pool.hosts:
            cert = pool.certificates.issue(h)
            for db in {id(x.db): x.db for x in pool.hosts}.values():
                record(db, h.ref, cert)
        contexts = pool.certificates.contexts
        bundle = pool.certificates.bundle(os.path.join(directory, "pool-bundle.pem"))
    sockets = {h.name: h.socket for h in pool.hosts if h.socket}
    if args.socket_dir:
        for h in pool.hosts:
            sockets.setdefault(h.name, os.path.join(args.socket_dir, h.name, "xapi"))
    ports = (args.port, args.https_port)
    urls, endpoints = serve(pool, Dispatcher(pool), contexts, sockets, ports)
    follow_xapi_state(pool, endpoints)
    pool.port = int(urls[pool.hosts[0].name]["http"].rsplit(":", 1)[1].rstrip("/"))
    if any(h.netns for h in pool.hosts):
        pool.prober = Prober(pool.hosts, pool.port, stopping=pool.stopping)
        pool.prober.start()
    master = next(h for h in pool.hosts if h.role == "master")
    db = master.db
    info = {
        "pid": os.getpid(),
        "user": pool.user,
        "password_file": pw_path,
        "state_dir": directory,
        "ca_file": bundle,
        "master": master.name,
        "hosts": [
            dict(
                name=h.name,
                uuid=h.uuid,
                address=h.address,
                pool_conf=h.pool_conf_path,
                fingerprint=pool.certificates.by_host[h.name].sha256 if bundle else None,
                **urls[h.name],
            )
            for h in pool.hosts
        ],
        "vms": [
            {"name": r["name_label"], "uuid": r["uuid"]}
            for r in db.tables["VM"].values()
            if not r["is_control_domain"]
        ],
    }
    control = Control(pool, info, endpoints)
    info["control"] = ControlServer(control).start()
    info["control_socket"] = ControlSocket(control, os.path.join(directory, "control.sock")).start()
    threading.Thread(target=_ticker, args=(pool,), daemon=True).start()
    return info, pool


def _ticker(pool):
    while not pool.stopping.wait(TICK):
        with pool.lock:
            pool.tick()


def run(args):
    info, pool = start(args)
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        print(
            "simulated pool (master %s), password file %s" % (info["master"], info["password_file"])
        )
        if info["ca_file"]:
            print("HTTPS: each host its own certificate, all in %s" % info["ca_file"])
        for h in info["hosts"]:
            print("  %-10s %s  %s" % (h["name"], h["uuid"], "  ".join(
                h[k] for k in ("http", "https", "socket") if k in h)))  # fmt: skip
            if h["fingerprint"]:
                print("  %-10s SHA-256 %s" % ("", h["fingerprint"]))
        for vm in info["vms"]:
            print("  VM %-8s %s" % (vm["name"], vm["uuid"]))
        print("control: %s   (Ctrl-C to stop)" % info["control"], flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    if args.until_stdin_closes:
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    pool.stopping.set()
    if not args.state_dir:
        shutil.rmtree(info["state_dir"], ignore_errors=True)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m xenha.lab.pool", description=__doc__)
    add_arguments(p)
    sys.exit(run(p.parse_args(argv)))
