"""Read a YAML description into plain values while remembering where each one was written.

Errors about the description must name the file, line and key; PyYAML's node
tree carries the positions, so values are built from it here instead of with
``yaml.safe_load`` (which also silently keeps the last of two duplicate keys).
"""

from xenha.errors import XenhaError


class ModelError(XenhaError):
    """The description is wrong; the message says where and what is expected."""


class Source:
    """Plain data from one YAML file plus the line of every key path in it."""

    def __init__(self, filename, data, lines):
        self.filename = filename
        self.data = data
        self.lines = lines  # {path tuple: line number (1-based)}

    def where(self, path):
        """``file:line`` of the closest written ancestor of ``path``."""
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return "%s:%d" % (self.filename, self.lines.get(path, 1))

    def error(self, path, message):
        key = dotted(path)
        return ModelError("%s: %s%s" % (self.where(path), (key + ": ") if key else "", message))


def dotted(path):
    """``('cluster', 'nodes', 0, 'name')`` -> ``cluster.nodes[0].name``."""
    out = ""
    for p in path:
        out += "[%d]" % p if isinstance(p, int) else ("." if out else "") + str(p)
    return out


def parse(text, filename="<string>"):
    """Parse YAML text into a :class:`Source`; YAML syntax errors become ModelError."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ModelError(
            "%s:%d: not valid YAML: %s" % (filename, line, getattr(e, "problem", e))
        ) from None
    lines = {}
    if root is None:
        return Source(filename, {}, lines)
    constructor = yaml.SafeLoader("")

    def build(node, path):
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for knode, vnode in node.value:
                key = constructor.construct_object(knode, deep=True)
                if not isinstance(key, (str, int)):
                    raise ModelError(
                        "%s:%d: keys must be names, not %r"
                        % (filename, knode.start_mark.line + 1, key)
                    )
                key = str(key)
                if key in out:
                    raise ModelError(
                        "%s:%d: %s: written twice (first at line %d)"
                        % (
                            filename,
                            knode.start_mark.line + 1,
                            dotted(path + (key,)),
                            lines[path + (key,)],
                        )
                    )
                lines[path + (key,)] = knode.start_mark.line + 1
                out[key] = build(vnode, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(item, path + (i,)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    return Source(filename, build(root, ()), lines)


def read(path):
    """Parse the YAML file at ``path``."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise ModelError("cannot read %s: %s" % (path, e.strerror)) from None
    return parse(text, path)
