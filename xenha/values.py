"""The one value vocabulary: parsing settings given as text, and escaping text for XML.

OCF parameters (``OCF_RESKEY_*``), fence-agent options (stdin and argv), alert
attributes and the cluster description all read their values here. Each
function returns the value or raises ValueError whose message shows the value
and what was expected ("'many' is not an integer") but not where it came from:
the caller adds its own where-text ("parameter count: ", "stdin line 3:
ipport=") and raises its own error type. Standard library only, nothing heavy:
every agent monitor imports this.
"""

import math

# Boolean words, case-insensitive. What every tool of the stack reads the same way:
# Pacemaker's crm_is_true (true/on/yes/y/1, false/off/no/n/0, any case),
# resource-agents' ocf_is_true (yes/true/1/YES/TRUE/True/ja/on/ON; anything else is
# false) and fence-agents' fencing.py (a flag on stdin is set by 1/yes/on/true, any
# case; anything else leaves it unset). "y"/"n" (Pacemaker only: ocf_is_true and
# fence-agents read "y" as false) and "ja" (ocf_is_true only: Pacemaker reads it as
# false) mean different things to different parts of the stack, so they are refused
# with an error rather than guessed at.
TRUE = ("1", "yes", "true", "on")
FALSE = ("0", "no", "false", "off")

# The units of a duration (90, 90s, 500ms, 5m, 5min, 1h), as the cluster description takes them.
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "": 1, "m": 60, "min": 60, "h": 3600}


def boolean(text):
    """``True``/``False`` from one of the words in :data:`TRUE` / :data:`FALSE`."""
    word = str(text).strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise ValueError("%r is not a boolean (use true or false)" % (text,))


def is_true(text):
    """Whether a switch is on (resource-agents' ocf_is_true): one of :data:`TRUE`; any
    other text, or None, is off and never an error."""
    return text is not None and str(text).strip().lower() in TRUE


def integer(text):
    """A whole number written in decimal (``"42"``, ``" -3 "``)."""
    try:
        return int(str(text).strip())
    except ValueError:
        raise ValueError("%r is not an integer" % (text,)) from None


def positive(number):
    """``number`` if it is above zero (a check after :func:`integer` or :func:`number`)."""
    if number <= 0:
        raise ValueError("%s is not a positive number" % (number,))
    return number


def number(text, positive=False, unit=""):
    """A finite number of 0 or more (above 0 with ``positive``), as a float; ``unit``
    (``"seconds"``) only names what it counts in the error."""
    what = "a number of %s" % unit if unit else "a number"
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError("%r is not %s" % (text, what)) from None
    if not math.isfinite(value):
        raise ValueError("%r is not %s" % (text, what))
    if value < 0:
        raise ValueError("%r must not be negative" % (text,))
    if positive and value == 0:
        raise ValueError("%r must be above 0" % (text,))
    return value


def duration(text):
    """Seconds in a duration such as ``90``, ``90s``, ``500ms``, ``5m``, ``5min``, ``1h``."""
    word = str(text)
    unit = word.lstrip("0123456789")
    count = word[: len(word) - len(unit)]
    if not count or unit not in _UNIT_SECONDS:
        raise ValueError("%r is not a duration such as 30s, 5m or 1h" % (text,))
    return int(count) * _UNIT_SECONDS[unit]


def choice(value, choices):
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError("%r is not one of %s" % (value, ", ".join(str(c) for c in choices)))
    return value


# The settings' types: how a text is read for each type name a declaration may use.
# "second" and "select" are fence-agents' content types; OCF metadata knows
# string, integer and boolean.
PARSERS = {
    "string": str,
    "integer": integer,
    "boolean": boolean,
    "second": lambda text: number(text, unit="seconds"),
}


def parse(type, text, choices=()):
    """``text`` read as a value of ``type`` (a key of :data:`PARSERS`, or ``"select"``:
    one of ``choices``)."""
    if type == "select":
        return choice(text, choices)
    return PARSERS[type](text)


class Setting:
    """What an OCF parameter and a fence-agent option share: a name, a type that says
    how its text is read, a default (text, like a value given), whether it is required
    and, for ``select``, its choices."""

    TYPES = tuple(PARSERS) + ("select",)

    def __init__(self, name, type="string", default=None, required=False, choices=()):
        if type not in self.TYPES:
            raise ValueError("%s: type must be one of %s" % (name, ", ".join(self.TYPES)))
        self.name = name
        self.type = type
        self.default = default
        self.required = required
        self.choices = tuple(choices)

    def parse(self, text):
        """The value of ``text``; ValueError (without the setting's name) if malformed."""
        return parse(self.type, text, self.choices)


def xml_escape(text):
    """``text`` safe inside XML character data and inside a double-quoted attribute."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )
