"""`xenha config`: write, check, prove and apply the cluster description."""

import os
import sys
import tempfile

FORMATS = ("crm", "xml", "pcs", "corosync")


def register(sub):
    p = sub.add_parser(
        "config",
        help="the cluster description: init, validate, generate, verify, load, show, get, import",
        description="One YAML file describes the cluster; these commands turn it into "
        "Pacemaker configuration. See docs/configuration.md.",
    )
    cmds = p.add_subparsers(dest="action", metavar="ACTION")
    cmds.required = True

    c = cmds.add_parser("init", help="write a commented example description")
    c.add_argument("file", nargs="?", help="where to write it (default: standard output)")
    c.add_argument("--force", action="store_true", help="overwrite an existing file")
    c.set_defaults(func=run_init)

    c = cmds.add_parser("validate", help="check a description (no Pacemaker tools needed)")
    c.add_argument("file", metavar="FILE", help="the cluster description (YAML)")
    c.set_defaults(func=run_validate)

    c = cmds.add_parser(
        "generate",
        help="print the configuration",
        description="crm: for `crm configure load update -`; xml: a whole CIB; pcs: a shell "
        "script of pcs commands; corosync: the whole corosync.conf of every node.",
    )
    c.add_argument("file", metavar="FILE", help="the cluster description (YAML)")
    c.add_argument(
        "--format", "-f", choices=FORMATS, default="crm", help="what to write (default crm)"
    )
    c.add_argument("--output", "-o", help="write to this file instead of standard output")
    _pacemaker(c)
    _no_resolve(c)
    c.set_defaults(func=run_generate)

    c = cmds.add_parser(
        "verify",
        help="prove the configuration with crm_verify and crm_simulate (no cluster touched)",
        description="Render the CIB, check it with crm_verify, then simulate a running cluster "
        "(pool master on the first node) losing a node: the fence must come first, then the "
        "master's promotion elsewhere, then the lost VMs' starts on survivors. Last, the "
        "master moves from the first node to the second: no VM may stop, start or migrate.",
    )
    c.add_argument("file", metavar="FILE", help="the cluster description (YAML)")
    c.add_argument(
        "--fail",
        action="append",
        metavar="NODE",
        help="node to lose (repeatable; default: the first node, which holds the master, "
        "and the second)",
    )
    _pacemaker(c)
    _no_resolve(c)
    c.set_defaults(func=run_verify)

    c = cmds.add_parser(
        "load",
        help="apply the configuration to the running cluster through crmsh",
        description="Show what `crm configure load update` would change, ask, then apply. "
        "Set CIB_file to work on a CIB file instead of the running cluster.",
    )
    c.add_argument("file", metavar="FILE", help="the cluster description (YAML)")
    c.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    c.add_argument(
        "--force",
        action="store_true",
        help="let crmsh load even where it cannot check an agent's metadata (crm -F)",
    )
    c.add_argument(
        "--no-check",
        action="store_true",
        help="load without the preflight (`xenha check` of the new configuration)",
    )
    _no_resolve(c)
    c.set_defaults(func=run_load)

    c = cmds.add_parser(
        "show",
        help="where the running cluster and the pool's VM flags drifted from the description",
        description="Compare the description with the running cluster and the pool: what "
        "`crm configure load update` would still change (crmsh's diff), objects in the CIB "
        "the description does not make (load update never removes them), and, with "
        "pool.protect: flagged, VMs whose pool flag (pool.flag_field) and protection "
        "disagree or whose flag is neither true nor false. Exit 0 no drift, 1 drift, "
        "2 cannot tell.",
    )
    c.add_argument("file", metavar="FILE", help="the cluster description (YAML)")
    c.add_argument("--json", action="store_true", help="print the drift as JSON")
    _no_resolve(c)
    c.set_defaults(func=run_show)

    c = cmds.add_parser(
        "get",
        help="print the description the cluster keeps (the last loaded, as the pool changed it)",
        description="Print the description stored in the CIB by `xenha config load`, with "
        "the VMs the pool has protected or unprotected since (`xenha vm follow` keeps it "
        "up to date), and say on standard error where it came from. Edit it, then `xenha "
        "config load` it again.",
    )
    c.add_argument("--output", "-o", help="write to this file instead of standard output")
    c.set_defaults(func=run_get)

    c = cmds.add_parser(
        "import-halizard",
        help="write a description from an HA-Lizard configuration",
        description="Read `ha-cfg get` output (KEY=VALUE lines) and fence host maps "
        "(ILO.hosts-style `host-uuid:address` lines); print what each setting became.",
    )
    c.add_argument("settings", help="file with the output of `ha-cfg get`")
    c.add_argument(
        "--node",
        action="append",
        required=True,
        metavar="NAME,HOST_UUID,ADDRESS",
        help="a cluster node: Pacemaker name, pool host UUID, cluster address (repeat per node)",
    )
    c.add_argument("--hosts-file", help="ILO.hosts / IRMC.hosts-style map of host UUID to BMC")
    c.add_argument(
        "--xapi-address",
        help="FENCE_METHOD=POOL: the pool's XAPI address fence_xenha_xapi talks to "
        "(a pool host's management address; the client follows the master)",
    )
    c.add_argument("--output", "-o", required=True, help="the description to write")
    c.set_defaults(func=run_import)

    c = cmds.add_parser(
        "discover",
        help="fill VMs/appliances and host UUIDs from the pool over XAPI",
        description="Read the description, ask the pool (pool.xapi settings, or the options "
        "below) which VMs are protected under pool.mode/protect/flag_field, and write the "
        "description with vms (or appliances) and every node's host UUID filled in.",
    )
    c.add_argument("file", metavar="FILE", help="the cluster description (YAML)")
    c.add_argument("--output", "-o", help="where to write (default: standard output)")
    c.add_argument("--url", help="XAPI URL (default: pool.xapi.url, else the local socket)")
    c.add_argument("--user", help="XAPI user (default: pool.xapi.user, else root)")
    c.add_argument("--password-file", help="root-only file holding the XAPI password")
    c.add_argument("--ca-file", help="CA bundle to verify the XAPI certificate")
    c.add_argument(
        "--fingerprint",
        help="SHA-256 fingerprints of the XAPI certificates, one per pool host, ','-separated",
    )
    c.add_argument("--insecure", action="store_true", help="do not verify TLS (lab only)")
    c.set_defaults(func=run_discover)


def _no_resolve(parser):
    parser.add_argument(
        "--no-resolve",
        action="store_true",
        help="offline: keep host and VM names as they are written instead of resolving them "
        "to UUIDs through XAPI (pool.xapi); a warning names each one",
    )


def _pacemaker(parser):
    from xenha.crm.targets import NAMES

    parser.add_argument(
        "--pacemaker",
        choices=NAMES,
        help="the Pacemaker to write for: role names, 1.1's master resource, the CIB "
        "schema, Corosync 2 for 1.1 (default: cluster.pacemaker, else this machine's "
        "Pacemaker, else 2.1)",
    )


def _model(path, pacemaker=None):
    """The checked description at ``path``; ``pacemaker``: a target that overrides its
    cluster.pacemaker."""
    from xenha import model

    m = model.load(path)
    if pacemaker:
        m["cluster"]["pacemaker"] = pacemaker
    return m


def _pinned(args, m=None):
    """The checked description of ``args.file`` (or ``m``, that description checked) with
    its pool names resolved to UUIDs through XAPI (xenha.importers.identities), unless
    ``--no-resolve``; one warning on standard error per name relied on."""
    from xenha.errors import XenhaError
    from xenha.importers import identities
    from xenha.xapi import Client, XapiError, XapiUnreachable

    m = _model(args.file) if m is None else m
    if args.no_resolve:
        warnings = identities.kept(m)
    elif not identities.names(m):
        return m
    else:
        fix = (
            "run this on a pool host or set pool.xapi, write UUIDs, or keep the names "
            "with --no-resolve"
        )
        client = None
        try:
            client = Client(_xapi_settings(m["pool"]["xapi"]), "xenha-config", cache_dir=None)
            client.xenapi.pool.get_all()  # logs in: a password or network problem says so
        except XenhaError as e:
            if client is not None:
                client.close()
            raise XenhaError(
                "%s names pool hosts or VMs by name-label, and XAPI (pool.xapi) cannot be "
                "asked for their UUIDs: %s; %s" % (args.file, e, fix)
            ) from None
        try:
            with client:
                m, warnings = identities.resolve(m, client)
        except (XapiError, XapiUnreachable) as e:
            raise XenhaError("resolving names through XAPI: %s; %s" % (e, fix)) from None
    for line in warnings:
        print("xenha: warning: " + line, file=sys.stderr)
    return m


def run_init(args):
    from xenha import model
    from xenha.errors import XenhaError

    example = os.path.join(os.path.dirname(model.__file__), "example.yaml")
    with open(example) as f:
        text = f.read()
    if not args.file:
        sys.stdout.write(text)
        return 0
    if os.path.exists(args.file) and not args.force:
        raise XenhaError("%s exists; use --force to overwrite it" % args.file)
    with open(args.file, "w") as f:
        f.write(text)
    print("wrote %s; edit it, then `xenha config verify %s`" % (args.file, args.file))
    return 0


def run_validate(args):
    m = _model(args.file)
    vms = sum(1 for _ in m["vms"]) + sum(len(a["vms"]) for a in m["appliances"])
    print(
        "%s: valid: cluster %s, %d nodes, quorum %s, %d VMs"
        % (args.file, m["cluster"]["name"], len(m["cluster"]["nodes"]), m["quorum"]["mode"], vms)
    )
    return 0


def _write(text, path=None):
    """Write ``text`` to the file ``path``, or to standard output without one."""
    if path:
        with open(path, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def run_generate(args):
    from xenha.crm import render

    m = _model(args.file, args.pacemaker)
    if args.format != "corosync":  # corosync.conf names no pool host or VM: nothing to resolve
        m = _pinned(args, m)
    _write(render.render(m, args.format, os.path.basename(args.file)), args.output)
    return 0


def _print_outcome(title, outcome):
    """A simulated event's story and problems (xenha.crm.simulate.Outcome); their count."""
    print(title)
    for step in outcome.story:
        print("  " + step)
    for problem in outcome.problems:
        print("  PROBLEM: " + problem)
    return len(outcome.problems)


def run_verify(args):
    from xenha.crm import render, simulate
    from xenha.errors import XenhaError

    m = _model(args.file, args.pacemaker)
    simulate.check_target(m)
    names = [n["name"] for n in m["cluster"]["nodes"]]
    fail = args.fail or names[:2]
    for node in fail:
        if node not in names:
            raise XenhaError(
                "--fail %s: not a node; expected one of: %s" % (node, ", ".join(names))
            )
    m = _pinned(args, m)
    with tempfile.TemporaryDirectory(prefix="xenha-verify-") as tmp:
        cib = os.path.join(tmp, "cib.xml")
        with open(cib, "w") as f:
            f.write(render.render(m, "xml", os.path.basename(args.file)))
        for line in simulate.verify(cib):
            print("crm_verify: " + line)
        print("crm_verify: configuration valid")
        bad = 0
        for node in fail:
            outcome = simulate.failover(m, cib, node, master=names[0])
            bad += _print_outcome("losing %s (pool master on %s):" % (node, names[0]), outcome)
        outcome = simulate.master_move(m, cib, names[0], names[1])
        title = "moving the pool master from %s to %s:" % (names[0], names[1])
        if not _print_outcome(title, outcome):
            print("  no VM stopped, started or migrated")
        bad += len(outcome.problems)
    if bad:
        print("%d problems found" % bad)
        return 1
    print("verified: fence before promotion before VM starts; master moves leave VMs alone")
    return 0


def run_load(args):
    from xenha.crm import apply, render
    from xenha.errors import XenhaError

    model = _pinned(args)
    text = render.render(model, "crm", os.path.basename(args.file))
    if not args.no_check and not os.environ.get("CIB_file"):  # noqa: SIM112 (crm tools)
        _preflight(model, os.path.basename(args.file))
    diff = apply.preview(text, force=args.force)
    if not diff:
        print("the cluster already has this configuration; nothing to do")
        _keep_description(args.file)
        return 0
    sys.stdout.write(diff)
    if not args.yes:
        if not sys.stdin.isatty():
            raise XenhaError("not applying without --yes: standard input is not a terminal")
        answer = input("apply these changes? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not applied")
            return 1
    apply.load(text, force=args.force)
    print("applied")
    _keep_description(args.file)
    _agree_flags(model, args)
    return 0


def _agree_flags(model, args):
    """With pool.protect: flagged, the pool's flags lead once the description is loaded
    (`xenha vm follow`): set the flag of every VM the description protects to true, so
    the pool says what was just loaded."""
    from xenha import protection
    from xenha.crm import plan
    from xenha.errors import XenhaError
    from xenha.xapi import Client

    pool = model["pool"]
    if (pool["mode"], pool["protect"]) != ("vms", "flagged") or not model["vms"]:
        return
    field = pool["flag_field"]
    if args.no_resolve:
        print(
            "xenha: warning: the VMs' %s flags were not checked (--no-resolve): the "
            "cluster follows the flags, so set them true (`xenha vm protect VM`)" % field,
            file=sys.stderr,
        )
        return
    try:
        with Client(_xapi_settings(pool["xapi"]), "xenha-config", cache_dir=None) as client:
            for vm in plan.protected_vms(model):
                ref = client.xenapi.VM.get_by_uuid(vm["vm"])
                value = client.xenapi.VM.get_other_config(ref).get(field)
                if value != "true":
                    protection.set_flag(client, ref, field, "true")
                    print("%s: %s=true in the pool (it was %r)" % (vm["id"], field, value))
    except XenhaError as e:
        raise XenhaError(
            "loaded, but the VMs' %s flags could not be set (%s): the cluster follows the "
            "flags, so set them with `xenha vm protect VM`" % (field, e)
        ) from None


def _keep_description(path):
    """Store the description in the CIB (xenha.protection), unless it is there already:
    any node then follows the pool with it (`xenha vm follow`)."""
    import getpass
    import socket
    import time

    from xenha import pacemaker, protection
    from xenha.errors import XenhaError
    from xenha.operate.verbs import Verbs

    with open(path) as f:
        text = f.read()
    verbs = Verbs()
    root = pacemaker.parse_xml(verbs.query(), "the CIB")
    try:
        if protection.stored(root) == text:
            return
    except XenhaError:
        pass  # none stored yet (or damaged): this one replaces it
    origin = "%s, loaded %s by %s@%s" % (
        os.path.basename(path),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        getpass.getuser(),
        socket.gethostname(),
    )
    protection.store(verbs, root, text, origin)
    print("description stored in the CIB (%s), for `xenha vm follow`" % protection.SET_ID)


def _preflight(model, name):
    """`xenha check` of the configuration about to be loaded; refuses on a critical
    finding (two HA managers, fencing that does not answer, ...)."""
    from xenha import check
    from xenha.crm import render
    from xenha.errors import XenhaError

    nodes = [n["name"] for n in model["cluster"]["nodes"]]
    findings = check.gather(render.render(model, "xml", name), nodes)
    sys.stdout.write(check.render(findings, color=sys.stdout.isatty()))
    if check.exit_code(findings) == check.CRITICAL:
        raise XenhaError("not loading: the preflight found critical problems (or --no-check)")


def run_show(args):
    import json

    from xenha import drift
    from xenha.crm import apply, plan, render
    from xenha.errors import XenhaError
    from xenha.pacemaker import cib
    from xenha.xapi import Client

    m = _pinned(args)
    found = {"cluster": [], "extra": [], "flags": [], "cannot_tell": []}
    try:
        diff = apply.preview(render.render(m, "crm", os.path.basename(args.file)), force=True)
        found["cluster"] = diff.splitlines()
        found["extra"] = drift.extra_objects(cib(), plan.build(m).ids())
    except XenhaError as e:
        found["cannot_tell"].append("the cluster: %s" % e)
    try:
        with Client(_xapi_settings(m["pool"]["xapi"]), "xenha-config", cache_dir=None) as c:
            found["flags"] = drift.flag_drift(m, drift.pool_vms(c))
    except XenhaError as e:
        found["cannot_tell"].append("the pool's VM flags: %s" % e)
    if args.json:
        print(json.dumps(found, indent=2, sort_keys=True))
    else:
        _show_drift(args.file, found)
    if found["cannot_tell"]:
        return 2
    return 1 if found["cluster"] or found["extra"] or found["flags"] else 0


def _show_drift(path, found):
    if found["cluster"]:
        print("the running cluster differs from %s (what load would change):" % path)
        print("\n".join(found["cluster"]))
    for rid in found["extra"]:
        print("in the cluster, not in the description: %s (crm configure delete %s)" % (rid, rid))
    for line in found["flags"]:
        print(line)
    for what in found["cannot_tell"]:
        print("cannot tell %s" % what)
    if not any(found.values()):
        print("no drift: the cluster and the pool match %s" % path)


def run_get(args):
    from xenha import pacemaker, protection
    from xenha.operate.verbs import Verbs

    root = pacemaker.parse_xml(Verbs().query(), "the CIB")
    _write(protection.stored(root), args.output)
    origin = (protection.property_set(root, protection.SET_ID) or {}).get(protection.ORIGIN)
    print("xenha: the description the cluster keeps (%s)" % origin, file=sys.stderr)
    return 0


def run_import(args):
    from xenha.importers import halizard

    text, report = halizard.convert(args.settings, args.node, args.hosts_file, args.xapi_address)
    _write(text, args.output)
    for line in report:
        print(line)
    print("wrote %s; check it with `xenha config verify %s`" % (args.output, args.output))
    return 0


def _xapi_settings(xapi, args=None):
    """How to reach the pool: the options given (``args``), else the description's
    pool.xapi, else what the pool agents assume."""
    from xenha.crm.agents import XAPI_DEFAULTS, XAPI_PARAMS
    from xenha.xapi import Settings

    value = {key: getattr(args, key, None) or xapi[key] for key in XAPI_PARAMS}
    return Settings(
        url=value["url"] or None,
        user=value["user"] or XAPI_DEFAULTS["xapi_user"],
        password_file=value["password_file"] or XAPI_DEFAULTS["xapi_password_file"],
        ca_file=value["ca_file"],
        fingerprint=value["fingerprint"],
        insecure=bool(value["insecure"]),
    )


def run_discover(args):
    from xenha.importers import discover

    xapi = _model(args.file)["pool"]["xapi"]
    text, report = discover.run(args.file, _xapi_settings(xapi, args))
    for line in report:
        print(line, file=sys.stderr)
    _write(text, args.output)
    if args.output:
        print("wrote %s" % args.output, file=sys.stderr)
    return 0
