"""Agent metadata in fence-agents' format (validated against its metadata.rng in the tests)."""

import xml.etree.ElementTree as ET


def _flag(value):
    return "1" if value else "0"


def _parameter(parent, spec, name, deprecated=False, obsoletes=None):
    attrs = {"name": name, "unique": "0", "required": _flag(spec.required and not deprecated)}
    if deprecated:
        attrs["deprecated"] = "1"
    if obsoletes:
        attrs["obsoletes"] = obsoletes
    param = ET.SubElement(parent, "parameter", attrs)
    ET.SubElement(param, "getopt", {"mixed": spec.getopt_text()})
    content = ET.SubElement(param, "content", {"type": spec.type})
    for choice in spec.choices:
        ET.SubElement(content, "option", {"value": choice})
    if spec.default is not None:
        content.set("default", spec.default)
    short = ET.SubElement(param, "shortdesc", {"lang": "en"})
    short.text = spec.desc


def render(agent):
    """The metadata XML of ``agent`` as text."""
    root = ET.Element("resource-agent", {"name": agent.name, "shortdesc": agent.shortdesc})
    ET.SubElement(root, "longdesc").text = agent.longdesc
    ET.SubElement(root, "vendor-url").text = agent.vendor_url
    params = ET.SubElement(root, "parameters")
    for spec in agent.options:
        _parameter(params, spec, spec.name, obsoletes=spec.aliases[0] if spec.aliases else None)
        for alias in spec.aliases:
            _parameter(params, spec, alias, deprecated=True)
    actions = ET.SubElement(root, "actions")
    for action in agent.actions:
        attrs = {"name": action}
        if action == "on":
            attrs["automatic"] = "0"
        ET.SubElement(actions, "action", attrs)
    _indent(root)
    return '<?xml version="1.0" ?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _indent(elem, level=0):
    """Pretty-print in place (ElementTree.indent needs Python 3.9)."""
    pad = "\n" + "\t" * level
    if len(elem):
        if not (elem.text or "").strip():
            elem.text = pad + "\t"
        for child in elem:
            _indent(child, level + 1)
        if not (child.tail or "").strip():
            child.tail = pad
    if level and not (elem.tail or "").strip():
        elem.tail = pad
