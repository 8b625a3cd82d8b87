"""`xenha backup` / `xenha restore`: the cluster's configuration, the description it came
from and the pool's per-VM HA flags, in one JSON file restorable on any node.

Secrets stay out: the CIB names secret files, never their contents; a secret written
into the CIB anyway (``password``, ``passwd``, ``community`` parameters) is blanked in
the backup, and the backup says so. A restore is previewed as crmsh's diff of the
configuration (on a copy of the CIB, as ``config load`` does), refuses another
cluster's backup unless forced, and replaces the configuration in one CIB update.
"""

import datetime
import json
import socket
import xml.etree.ElementTree as ET

from xenha import __version__
from xenha.errors import XenhaError

FORMAT = "xenha-backup/1"
BLANKED = "(secret removed by xenha backup)"


def cluster_name(configuration):
    """The cluster-name property of a CIB configuration element, or None."""
    for nv in configuration.iter("nvpair"):
        if nv.get("name") == "cluster-name":
            return nv.get("value")
    return None


def strip_secrets(configuration):
    """Blank inline secrets in place; the ids of the parameters blanked."""
    from xenha.check import INLINE_SECRETS

    blanked = []
    for nv in configuration.iter("nvpair"):
        if nv.get("name") in INLINE_SECRETS and nv.get("value"):
            nv.set("value", BLANKED)
            blanked.append(nv.get("id") or nv.get("name"))
    return blanked


def make(configuration_xml, description=None, flags=None):
    """The backup document. ``description``: (path, text) or None; ``flags``: the pool's
    per-VM flag field ({"field", "vms": {uuid: {"name", "value"}}}) or None."""
    configuration = ET.fromstring(configuration_xml)
    if configuration.tag != "configuration":
        raise XenhaError("not a CIB configuration section: <%s>" % configuration.tag)
    blanked = strip_secrets(configuration)
    return {
        "format": FORMAT,
        "created": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": socket.gethostname(),
        "xenha": __version__,
        "cluster_name": cluster_name(configuration),
        "configuration": ET.tostring(configuration, encoding="unicode"),
        "secrets_blanked": blanked,
        "description": None if description is None else dict(zip(("path", "text"), description)),
        "flags": flags,
    }


def read(path):
    """A backup file, checked: XenhaError saying what is wrong, never a traceback."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise XenhaError("cannot read %s: %s" % (path, e.strerror)) from None
    except ValueError as e:
        raise XenhaError("%s is not a xenha backup (not JSON: %s)" % (path, e)) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise XenhaError("%s is not a xenha backup (format %r)" % (path, _get(doc, "format")))
    try:
        root = ET.fromstring(doc["configuration"])
    except (KeyError, TypeError, ET.ParseError) as e:
        raise XenhaError("%s: its configuration is unreadable (%s)" % (path, e)) from None
    if root.tag != "configuration":
        raise XenhaError("%s: its configuration is a <%s>" % (path, root.tag))
    for key, kind in (("secrets_blanked", list), ("flags", (dict, type(None)))):
        if not isinstance(doc.get(key), kind):
            raise XenhaError("%s is not a xenha backup (its %s is missing or wrong)" % (path, key))
    described = doc.get("description")
    if described is not None and not (
        isinstance(described, dict) and isinstance(described.get("text"), str)
    ):
        raise XenhaError("%s is not a xenha backup (its description is wrong)" % path)
    flags = doc["flags"]
    if flags is not None and not (
        isinstance(flags.get("field"), str) and isinstance(flags.get("vms"), dict)
    ):
        raise XenhaError("%s is not a xenha backup (its flags are wrong)" % path)
    return doc


def _get(doc, key):
    return doc.get(key) if isinstance(doc, dict) else None


def write(path, doc):
    """Write the backup root-only (it names where secrets live), atomically."""
    import os

    tmp = path + ".new"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        os.rename(tmp, path)
    except OSError as e:
        raise XenhaError("cannot write %s: %s" % (path, e.strerror)) from None


def read_flags(client, field):
    """Each regular VM's ``field`` in other_config ({uuid: {"name", "value"}})."""
    from xenha.importers.discover import regular

    vms = {}
    for rec in client.xenapi.VM.get_all_records().values():
        if regular(rec):
            vms[rec["uuid"]] = {"name": rec["name_label"], "value": rec["other_config"].get(field)}
    return {"field": field, "vms": vms}


def restore_flags(client, flags):
    """Set each VM's flag back as the backup had it; lines saying what changed."""
    api, field, out = client.xenapi, flags["field"], []
    for uuid, vm in sorted(flags["vms"].items(), key=lambda i: i[1]["name"]):
        try:
            ref = api.VM.get_by_uuid(uuid)
        except XenhaError:
            out.append(
                "VM %s (%s) is no longer in the pool: its flag is not restored" % (vm["name"], uuid)
            )
            continue
        now = api.VM.get_other_config(ref).get(field)
        if now == vm["value"]:
            continue
        if now is not None:
            api.VM.remove_from_other_config(ref, field)
        if vm["value"] is not None:
            api.VM.add_to_other_config(ref, field, vm["value"])
        out.append("VM %s: %s %r -> %r" % (vm["name"], field, now, vm["value"]))
    return out
