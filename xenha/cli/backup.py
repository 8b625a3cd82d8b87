"""`xenha backup FILE` and `xenha restore FILE`: configuration, description and the
pool's VM flags, restorable on any node."""

import os
import sys


def register(sub):
    b = sub.add_parser(
        "backup",
        help="save the cluster's configuration, its description and the pool's VM flags",
        description="Write one JSON file (mode 0600) with the CIB's configuration section, "
        "the cluster description (--description) and each VM's HA flag in the pool "
        "(pool.flag_field, default ha-lizard-enabled). Secrets are never in it: the CIB "
        "names secret files, and a secret written into the CIB anyway is blanked (and "
        "said). Restorable on any node with `xenha restore`.",
    )
    b.add_argument("file", metavar="FILE", help="where to write the backup")
    b.add_argument("--description", metavar="YAML", help="the cluster description to include")
    b.add_argument(
        "--flag-field",
        default="ha-lizard-enabled",
        metavar="KEY",
        help="the VMs' other_config key to save (default ha-lizard-enabled)",
    )
    b.set_defaults(func=run_backup)
    r = sub.add_parser(
        "restore",
        help="put a backup's configuration and VM flags back",
        description="Show what restoring FILE changes (crmsh's diff of the configuration, "
        "on a copy of the CIB), ask, then replace the CIB's configuration section in one "
        "update and set the VMs' flags back. Refuses (unless --force) a backup of another "
        "cluster (its cluster-name) and one whose inline secrets were blanked. The "
        "description, if saved, is written with --description-to. Exit 0 restored or "
        "nothing to do, 1 refused or not applied.",
    )
    r.add_argument("file", metavar="FILE", help="a file written by `xenha backup`")
    r.add_argument("--yes", "-y", action="store_true", help="restore without asking")
    r.add_argument("--dry-run", action="store_true", help="only show what would change")
    r.add_argument(
        "--force",
        action="store_true",
        help="restore another (or an unnamed) cluster's backup, or one with blanked secrets",
    )
    r.add_argument("--no-flags", action="store_true", help="leave the VMs' flags as they are")
    r.add_argument(
        "--description-to", metavar="YAML", help="write the saved description to this file"
    )
    r.set_defaults(func=run_restore)


def _client():
    """A pool client through the xapi-pool-master resource's parameters."""
    from xenha import status
    from xenha.xapi import Client

    cluster = status.read_cluster()
    return Client(status.settings_of(cluster["master_params"]), "xenha-backup", cache_dir=None)


def run_backup(args):
    from xenha import backup
    from xenha.errors import XenhaError
    from xenha.pacemaker import cib

    configuration = cib("configuration")
    description = None
    if args.description:
        try:
            with open(args.description) as f:
                description = (os.path.abspath(args.description), f.read())
        except OSError as e:
            raise XenhaError("cannot read %s: %s" % (args.description, e.strerror)) from None
    try:
        with _client() as c:
            flags = backup.read_flags(c, args.flag_field)
    except XenhaError as e:
        raise XenhaError("cannot read the pool's VM flags: %s" % e) from None
    doc = backup.make(configuration, description, flags)
    backup.write(args.file, doc)
    for rid in doc["secrets_blanked"]:
        print("warning: %s held a secret in the CIB; blanked in the backup" % rid)
    print(
        "backed up cluster %s: configuration, %s, %d VM flags -> %s"
        % (
            doc["cluster_name"] or "(unnamed)",
            "description %s" % description[0] if description else "no description",
            len(flags["vms"]),
            args.file,
        )
    )
    return 0


def _diff(configuration):
    """crmsh's view of the configuration now and after the restore (on a copy)."""
    from xenha.crm.apply import crm, diff_of

    return diff_of(
        lambda copy, workdir: crm(_replace_argv(), cib_file=copy, stdin=configuration),
        "restored",
    )


def _writable(path):
    """Refuse before anything changes when ``path`` cannot be written."""
    from xenha.errors import XenhaError

    directory = os.path.dirname(os.path.abspath(path))
    if not os.access(directory, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise XenhaError("cannot write %s (--description-to)" % path)


def _replace_argv():
    return ["cibadmin", "--replace", "--scope", "configuration", "--xml-pipe"]


def run_restore(args):
    import xml.etree.ElementTree as ET

    from xenha import backup
    from xenha.crm.apply import crm
    from xenha.errors import XenhaError
    from xenha.pacemaker import cib

    doc = backup.read(args.file)
    live = backup.cluster_name(ET.fromstring(cib("configuration")))
    theirs = doc.get("cluster_name")
    if live != theirs and not args.force:
        raise XenhaError(
            "%s is a backup of cluster %s, this is cluster %s (--force restores it anyway)"
            % (args.file, theirs or "(unnamed)", live or "(unnamed)")
        )
    if doc["secrets_blanked"] and not args.force:
        raise XenhaError(
            "the backup blanked the secrets written into %s: restoring it would break them; "
            "move them to password_file first, or --force and set them again"
            % ", ".join(doc["secrets_blanked"])
        )
    if doc["description"] and args.description_to:
        _writable(args.description_to)
    diff = _diff(doc["configuration"])
    sys.stdout.write(diff or "the configuration is as the backup has it\n")
    if args.dry_run:
        return 0
    if diff and not args.yes:
        if not sys.stdin.isatty():
            raise XenhaError("not restoring without --yes: standard input is not a terminal")
        if input("restore this configuration? [y/N] ").strip().lower() not in ("y", "yes"):
            print("not restored")
            return 1
    if diff:
        crm(_replace_argv(), stdin=doc["configuration"])
        print("configuration restored")
    if doc["flags"] and not args.no_flags:
        with _client() as c:
            for line in backup.restore_flags(c, doc["flags"]):
                print(line)
    if doc["description"] and args.description_to:
        try:
            with open(args.description_to, "w") as f:
                f.write(doc["description"]["text"])
        except OSError as e:
            raise XenhaError("cannot write %s: %s" % (args.description_to, e.strerror)) from None
        print("description written to %s" % args.description_to)
    elif doc["description"]:
        print(
            "the backup holds the description %s (--description-to writes it)"
            % (doc["description"]["path"])
        )
    return 0
