"""The alert's instance attributes (the names `xenha config generate` emits), checked;
and the alerts the CIB defines, as Pacemaker passes them to the agent."""

import collections
import socket

from xenha import values
from xenha.errors import XenhaError

STATE_DIR = "/var/lib/xenha/alerts"


class Settings:
    """Mail server, sender and suppression; bad values raise XenhaError naming the attribute."""

    def __init__(self, env):
        self.server = env.get("smtp_server") or "localhost"
        self.port = _number(env, "smtp_port", 25, int)
        self.user = env.get("smtp_user") or None
        self.password_file = env.get("smtp_password_file") or None
        self.starttls = _flag(env, "smtp_starttls")
        self.ca_file = env.get("smtp_ca_file") or None
        self.timeout = _number(env, "smtp_timeout", 15.0, float)
        self.sender = address("mail_from", env.get("mail_from") or "xenha@" + socket.gethostname())
        self.suppress_minutes = _number(env, "suppress_minutes", 60.0, float, zero=True)
        self.state_dir = env.get("state_dir") or STATE_DIR
        if self.user and not self.starttls:
            raise XenhaError(
                "smtp_user is set but smtp_starttls is not: the password would cross the "
                "network in clear; set starttls: true"
            )
        if self.user and not self.password_file:
            raise XenhaError("smtp_user is set but smtp_password_file is not")

    def password(self):
        from xenha import secrets

        return secrets.read_file(self.password_file, "smtp_password_file", group_may_read=True)


# An alert of the CIB: its id, its instance attributes ({name: value}) and its recipients,
# each ``(address, attributes)``: the alert's attributes with the recipient's own over them.
Alert = collections.namedtuple("Alert", "id attrs recipients")


def from_cib(cib_xml, path):
    """The alerts of ``cib_xml`` (``cibadmin --query`` text, any scope holding ``alerts``)
    whose agent is ``path``."""
    from xenha.pacemaker import parse_xml

    root = parse_xml(cib_xml, "the CIB")
    found = []
    for alert in root.iter("alert"):
        if alert.get("path") != path:
            continue
        attrs = _attributes(alert)
        recipients = [
            (r.get("value", ""), dict(attrs, **_attributes(r))) for r in alert.iter("recipient")
        ]
        found.append(Alert(alert.get("id"), attrs, recipients))
    return found


def _attributes(element):
    """The nvpairs of ``element``'s own instance_attributes sets, in order."""
    return {
        nv.get("name"): nv.get("value", "")
        for block in element.findall("instance_attributes")
        for nv in block.findall("nvpair")
    }


def address(name, value):
    """``value`` if it is one plain e-mail address (it goes into a mail header)."""
    if "@" not in value or any(c in value for c in '<>,;"\\') or len(value.split()) != 1:
        raise XenhaError("%s %r is not one e-mail address" % (name, value))
    return value


def _flag(env, name):
    """An attribute that is unset or empty is false."""
    value = env.get(name, "")
    try:
        return values.boolean(value) if value.strip() else False
    except ValueError:
        raise XenhaError("%s=%r: expected true or false" % (name, value)) from None


def _number(env, name, default, kind, zero=False):
    """An ``int`` or ``float`` attribute above 0 (0 or more with ``zero``); ``default``
    when unset or empty."""
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = values.integer(value) if kind is int else values.number(value)
        return number if zero and number >= 0 else values.positive(number)
    except ValueError:
        raise XenhaError(
            "%s=%r: expected a number %s" % (name, value, "of 0 or more" if zero else "above 0")
        ) from None
