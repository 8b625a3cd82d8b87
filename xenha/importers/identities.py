"""Pin a checked description's pool names to UUIDs when the configuration is generated.

A node's pool host defaults to the host whose name-label is the node name, and VMs may
be given by name-label. A configuration that kept the names breaks when someone renames
the host or VM in XenCenter, or gives another VM the same name: the agents then find
nothing, or two. So ``xenha config generate/verify/load`` resolve each name that is not a
UUID through the pool (the description's ``pool.xapi``) and write the UUID into the
generated configuration (``host_map`` from UUIDs, ``vm=`` UUIDs, an xapi fence device's
``plug``), with one warning per name relied on. Offline (``--no-resolve``) the names
stay, and the warnings say so. The description itself is left as written.
"""

import copy

from xenha.errors import XenhaError

_BREAKS = "a rename in XenCenter would break a configuration that kept the name"


def _is_uuid(text):
    from xenha.xapi.client import UUID_RE

    return bool(UUID_RE.match(text))


def names(model):
    """``[(what, kind, name, places)]``: every pool host or VM of a checked ``model`` that
    is given by name; ``kind`` "host" or "VM"; ``places``: ``(mapping, key)`` pairs that
    hold the name (a host's xapi fence device plug defaults to it)."""
    from xenha.crm.plan import protected_vms

    found = []
    for node in model["cluster"]["nodes"]:
        host = node["host"]
        pool_plugs = [d for d in node["fencing"] if d["device"] == "xapi"]
        if not _is_uuid(host):
            places = [(node, "host")] + [(d, "plug") for d in pool_plugs if d["plug"] == host]
            what = "node %s's host is the name-label %r" % (node["name"], host)
            if host == node["name"]:
                what += " (its node name, the default)"
            found.append((what, "host", host, places))
        for dev in pool_plugs:
            if dev["plug"] != host and not _is_uuid(dev["plug"]):
                what = "node %s's xapi fence device's plug is the name-label %r" % (
                    node["name"],
                    dev["plug"],
                )
                found.append((what, "host", dev["plug"], [(dev, "plug")]))
    for vm in protected_vms(model):
        if not _is_uuid(vm["vm"]):
            what = "VM %s is the name-label %r" % (vm["id"], vm["vm"])
            found.append((what, "VM", vm["vm"], [(vm, "vm")]))
    return found


def resolve(model, client):
    """(a copy of ``model`` with every name replaced by its UUID, warnings), asking XAPI
    through ``client`` (xenha.xapi.Client). A name that matches nothing or several is a
    XenhaError saying which and what to write instead."""
    model = copy.deepcopy(model)
    warnings = []
    for what, kind, name, places in names(model):
        find = client.resolve_host if kind == "host" else client.resolve_vm
        try:
            uuid = getattr(client.xenapi, kind).get_uuid(find(name))
        except XenhaError as e:
            from xenha.xapi import XapiError, XapiUnreachable

            if isinstance(e, (XapiError, XapiUnreachable)):
                raise
            hint = "" if "UUID" in str(e) else "; write the %s's UUID, or fix the name" % kind
            raise XenhaError("%s: %s%s" % (what, e, hint)) from None
        for mapping, key in places:
            mapping[key] = uuid
        warnings.append("%s; resolved to %s; %s" % (what, uuid, _BREAKS))
    _unique([(n["name"], n["host"]) for n in model["cluster"]["nodes"]], "nodes", "host")
    from xenha.crm.plan import protected_vms

    _unique([(vm["id"], vm["vm"]) for vm in protected_vms(model)], "VM resources", "VM")
    return model, warnings


def _unique(pairs, whose, kind):
    """Two entries that name the same host or VM (a name and its UUID, or two names of
    one): refused, as two resources would then manage one VM."""
    seen = {}
    for owner, uuid in pairs:
        if uuid in seen:
            raise XenhaError(
                "%s %s and %s are the same %s (%s)" % (whose, seen[uuid], owner, kind, uuid)
            )
        seen[uuid] = owner


def kept(model):
    """The warnings for a ``model`` whose names stay names (offline, ``--no-resolve``)."""
    return [
        "%s; kept as a name (--no-resolve): a rename in XenCenter would break this "
        "configuration; write the %s's UUID (`xenha config discover` fills in hosts and VMs)"
        % (what, kind)
        for what, kind, _, _ in names(model)
    ]
