"""The cluster description: one YAML file, checked here, turned into crm configuration by xenha.crm.

``load(path)`` returns plain dicts and lists with every default filled in, or
raises :class:`ModelError` naming file, line and key. The keys are declared in
:mod:`xenha.model.spec`, checked one by one by :mod:`xenha.model.fields` and
together by :mod:`xenha.model.checks`.
"""

from xenha.model.checks import resource_id, validate
from xenha.model.source import ModelError, parse, read

__all__ = ["ModelError", "load", "loads", "resource_id"]


def loads(text, filename="<string>"):
    """Check a description given as YAML text."""
    return validate(parse(text, filename))


def load(path):
    """Check the description in the YAML file at ``path``."""
    return validate(read(path))
