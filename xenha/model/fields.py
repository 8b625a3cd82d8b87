"""A small declarative schema: each key's type, default and meaning, checked with file:line errors.

Hand-written rather than JSON Schema because the errors must say, in the
operator's words, which key at which line is wrong and what is expected, and
pool hosts run Python 3.6 with as few packages as possible.
"""

import typing

from xenha import values


class Field(typing.NamedTuple):
    """One key of a mapping: ``kind`` (str, int, bool, duration, whole_seconds, seconds,
    timeout, list, map), ``spec`` (a map's keys), ``item`` (a list's items), ``refused`` (a
    map's keys that are refused, with the message). ``whole_seconds`` is a duration above 0
    that is a whole number of seconds, checked as the number (an OCF agent's integer
    parameter); ``seconds``/``timeout`` are fence agents' plain numbers of seconds (a
    timeout above 0)."""

    kind: str
    required: bool = False
    default: typing.Any = None
    choices: typing.Any = None
    spec: typing.Any = None
    item: typing.Any = None
    doc: str = ""
    refused: typing.Any = None

    def expected(self):
        if self.choices:
            return "one of: " + ", ".join(str(c) for c in self.choices)
        return {
            "str": "a text value",
            "int": "a whole number",
            "bool": "true or false",
            "duration": "a duration such as 30s, 5m or 1h (or seconds as a number)",
            "whole_seconds": "a duration of whole seconds above 0, such as 20s or 2m "
            "(or seconds as a number)",
            "seconds": "a number of seconds (0 or more)",
            "timeout": "a number of seconds above 0",
            "list": "a list",
            "map": "a mapping of keys to values",
        }[self.kind]


def check(source, value, field, path):
    """Return ``value`` checked against ``field`` with defaults filled in."""
    bad = source.error(path, "got %s; expected %s" % (_show(value), field.expected()))
    kind = field.kind
    if kind == "str":
        if isinstance(value, bool) and field.choices and {"on", "off"} <= set(field.choices):
            value = "on" if value else "off"  # YAML 1.1 reads a bare on/off as a boolean
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise bad
        value = str(value)
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
    elif kind == "bool":
        if not isinstance(value, bool):
            raise bad
    elif kind in ("duration", "whole_seconds", "seconds", "timeout"):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise bad
        try:
            if kind in ("duration", "whole_seconds"):
                seconds = values.duration(value)
            else:
                values.number(value, positive=kind == "timeout")
        except ValueError:
            raise bad from None
        if kind == "whole_seconds":
            if seconds <= 0 or seconds != int(seconds):
                raise bad
            value = int(seconds)
        else:
            value = "%ds" % value if kind == "duration" and isinstance(value, int) else str(value)
    elif kind == "list":
        if not isinstance(value, list):
            raise bad
        return [check(source, v, field.item, path + (i,)) for i, v in enumerate(value)]
    elif kind == "map":
        if not isinstance(value, dict):
            raise bad
        return check_map(source, value, field.spec, path, field.refused)
    if field.choices and value not in field.choices:
        raise bad
    return value


def check_map(source, data, spec, path, refused=None):
    """Check a mapping: refused keys, unknown keys, required keys; fill defaults."""
    out = {}
    for key, value in data.items():
        if refused and key in refused:
            raise source.error(path + (key,), refused[key])
        if key not in spec:
            raise source.error(
                path + (key,), "unknown key; expected one of: " + ", ".join(sorted(spec))
            )
        out[key] = check(source, value, spec[key], path + (key,))
    for key, field in spec.items():
        if key in out:
            continue
        if field.required:
            raise source.error(path, "missing key %r (%s)" % (key, field.doc or field.expected()))
        out[key] = _default(source, field, path + (key,))
    return out


def _default(source, field, path):
    if field.kind == "map" and field.default is None:
        return check_map(source, {}, field.spec, path)
    if field.kind == "list" and field.default is None:
        return []
    return field.default


def _show(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
