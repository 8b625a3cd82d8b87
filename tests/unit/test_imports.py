"""Arrows point down only: the imports of every module, read with ``ast`` (function-local
ones and ``importlib.import_module("literal...")`` too), against the layering rules.

* Nothing under xenha/ imports the CLI or the lab, except the CLI and the lab
  themselves; the lab does not import the CLI.
* Nothing under xenha/ imports the agents (ocf_agents/, stonith_plugins/,
  alert_agents/): they stand on the library.
* No cycle between the subpackages of xenha (xenha.model, xenha.crm, ...; a top-level
  module counts as one), and none between modules (a package and its own submodules
  excepted: they may import each other).

A failure names each offending import by file and line, and a cycle as its chain.
"""

import ast
import os

import pytest

from tests.conftest import REPO

TOPS = ("xenha", "ocf_agents", "stonith_plugins", "alert_agents")
AGENT_PACKAGES = ("ocf_agents", "stonith_plugins", "alert_agents")
DYNAMIC = ("import_module", "__import__")


class Import:
    """``importer`` imports ``target`` at ``where`` (path:line)."""

    def __init__(self, importer, target, where):
        self.importer, self.target, self.where = importer, target, where

    def __repr__(self):
        return "%s imports %s (%s)" % (self.importer, self.target, self.where)


def modules(root, tops=TOPS):
    """``{dotted module name: path}`` of every .py file under the ``tops`` folders."""
    found = {}
    for top in tops:
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    parts = os.path.relpath(path, root)[: -len(".py")].split(os.sep)
                    if parts[-1] == "__init__":
                        parts.pop()
                    found[".".join(parts)] = path
    return found


def _literal_prefix(node):
    """The text a dynamic import's argument starts with, if it is written out."""
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        node = node.left
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def imports(root, known):
    """Every import of every module in ``known`` (as :func:`modules` returns)."""
    out = []
    for name, path in sorted(known.items()):
        package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        rel = os.path.relpath(path, root)

        def add(target, node, name=name, rel=rel):
            out.append(Import(name, target, "%s:%d" % (rel, node.lineno)))

        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name, node)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                for alias in node.names:
                    sub = base + "." + alias.name
                    add(sub if sub in known else base, node)
            elif isinstance(node, ast.Call) and node.args:
                func = node.func
                called = getattr(func, "attr", None) or getattr(func, "id", None)
                prefix = _literal_prefix(node.args[0]) if called in DYNAMIC else None
                if prefix:
                    add(prefix.rstrip("."), node)
    return out


def _within(name, package):
    return name == package or name.startswith(package + ".")


def points_up(importer, target):
    """Whether ``importer`` may not import ``target``: library -> agents, library -> CLI or
    lab, lab -> CLI."""
    if not _within(importer, "xenha"):
        return False
    if any(_within(target, p) for p in AGENT_PACKAGES):
        return True
    if _within(target, "xenha.cli"):
        return not _within(importer, "xenha.cli")
    if _within(target, "xenha.lab"):
        return not (_within(importer, "xenha.cli") or _within(importer, "xenha.lab"))
    return False


def upward(found):
    """The imports that point up."""
    return [imp for imp in found if points_up(imp.importer, imp.target)]


def unit(name):
    """The subpackage (or top-level module) of xenha a module belongs to."""
    return ".".join(name.split(".")[:2])


def cycles(edges):
    """The cycles of the graph ``{node: {successor: Import}}``, each as the chain of imports
    that makes it: for every node on a cycle, the shortest one through it (duplicates
    dropped), found in the strongly connected components of more than one node."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while v not in component:
                component.add(stack.pop())
            on_stack.difference_update(component)
            if len(component) > 1:
                components.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    found, seen = [], set()
    for component in components:
        for start in sorted(component):
            chain = _shortest_cycle(edges, component, start)
            key = frozenset((i.importer, i.target) for i in chain)
            if key not in seen:
                seen.add(key)
                found.append(chain)
    return found


def _shortest_cycle(edges, component, start):
    """The imports of the shortest closed path from ``start`` within ``component``."""
    paths, todo = {start: []}, [start]
    while todo:  # breadth first
        v = todo.pop(0)
        for w, imp in sorted(edges.get(v, {}).items()):
            if w == start:
                return paths[v] + [imp]
            if w in component and w not in paths:
                paths[w] = paths[v] + [imp]
                todo.append(w)
    raise AssertionError("no cycle through %s" % start)


def graphs(found, known):
    """``(between subpackages, between modules)`` of xenha, as ``{a: {b: Import}}``."""
    units, mods = {}, {}
    for imp in found:
        if not (_within(imp.importer, "xenha") and _within(imp.target, "xenha")):
            continue
        a, b = unit(imp.importer), unit(imp.target)
        if a != b:
            units.setdefault(a, {}).setdefault(b, imp)
        target = imp.target
        while target not in known and "." in target:
            target = target.rpartition(".")[0]
        # A package and its own submodules import each other freely (a submodule always
        # runs with its package loaded): only imports between other modules can close a cycle.
        if not (_within(imp.importer, target) or _within(target, imp.importer)):
            mods.setdefault(imp.importer, {}).setdefault(target, imp)
    return units, mods


def show(chain):
    return "\n  ".join(map(repr, chain))


KNOWN = modules(REPO)
FOUND = imports(REPO, KNOWN)


def test_the_walk_reads_every_module_and_function_local_imports():
    assert {"xenha.model.spec", "xenha.crm.plan", "stonith_plugins.fence_xenha_ssh"} <= set(KNOWN)
    # render imports plan inside render(): a function-local import counts.
    assert any(i.importer == "xenha.crm.render" and i.target == "xenha.crm.plan" for i in FOUND)


def test_nothing_points_up():
    bad = upward(FOUND)
    assert not bad, "upward imports:\n  " + show(bad)


@pytest.mark.parametrize("level", ["subpackages", "modules"])
def test_no_import_cycle(level):
    units, mods = graphs(FOUND, KNOWN)
    found = cycles(units if level == "subpackages" else mods)
    assert not found, "import cycles between %s:\n  " % level + "\n\n  ".join(map(show, found))


def test_the_checks_catch_a_cycle_and_an_upward_import(tmp_path):
    """The rules are not vacuous: a tree with model <-> crm and the library importing an
    agent and the lab is refused, with the chain and the lines."""
    files = {
        "xenha/__init__.py": "",
        "xenha/model/__init__.py": "",
        "xenha/model/spec.py": "def f():\n    from xenha.crm import agents\n",
        "xenha/crm/__init__.py": "",
        "xenha/crm/agents.py": "import importlib\n"
        "importlib.import_module('stonith_plugins.fence_xenha_' + 'x')\n",
        "xenha/crm/plan.py": "from xenha.model import spec\nfrom ..lab import cluster\n",
        "xenha/lab/__init__.py": "",
        "xenha/lab/cluster.py": "from xenha.crm import plan\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    known = modules(str(tmp_path))
    found = imports(str(tmp_path), known)
    assert [repr(i) for i in upward(found)] == [
        "xenha.crm.agents imports stonith_plugins.fence_xenha_ (xenha/crm/agents.py:2)",
        "xenha.crm.plan imports xenha.lab.cluster (xenha/crm/plan.py:2)",
    ]
    units, mods = graphs(found, known)
    chains = [show(c) for c in cycles(units)]
    model_crm = [c for c in chains if "xenha.model.spec imports xenha.crm.agents" in c]
    assert model_crm == [
        "xenha.model.spec imports xenha.crm.agents (xenha/model/spec.py:2)\n"
        "  xenha.crm.plan imports xenha.model.spec (xenha/crm/plan.py:1)"
    ], chains
    assert [show(c) for c in cycles(mods)] == [
        show(
            [
                Import("xenha.crm.plan", "xenha.lab.cluster", "xenha/crm/plan.py:2"),
                Import("xenha.lab.cluster", "xenha.crm.plan", "xenha/lab/cluster.py:1"),
            ]
        )
    ]
