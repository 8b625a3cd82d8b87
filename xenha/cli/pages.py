"""The command reference (docs/commands/*.md), written from the parser itself, so the
pages say what `--help` says. tests/unit/test_command_pages.py keeps them in step:
``XENHA_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_command_pages.py``."""

import argparse


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            return [(name, p, helps.get(name, "")) for name, p in action.choices.items()]
    return []


def _options(parser):
    rows = []
    for a in parser._actions:
        if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if a.help == argparse.SUPPRESS:
            continue  # hidden from --help: hidden here too
        if a.option_strings:
            names = ", ".join(a.option_strings)
            if a.nargs != 0:
                names += " " + (a.metavar or a.dest.upper())
        else:
            names = a.metavar or a.dest
        text = (a.help or "") % {"default": a.default} if a.help else ""
        rows.append("| `%s` | %s |" % (names, text.replace("|", "\\|")))
    return rows


def _section(parser, level, out, help_line=""):
    out.append("%s `%s`" % ("#" * level, parser.prog))
    out.append("")
    if help_line:
        out += [help_line[0].upper() + help_line[1:] + ".", ""]
    out += ["```", parser.format_usage().strip(), "```", ""]
    if parser.description:
        out += [parser.description, ""]
    rows = _options(parser)
    if rows:
        out += ["| argument | meaning |", "| --- | --- |"] + rows + [""]
    for _, child, help_line in _subparsers(parser):
        _section(child, level + 1, out, help_line)


def pages(parser, commands):
    """{file name: Markdown} for each of ``commands`` (top-level command names)."""
    out = {}
    for name, child, help_line in _subparsers(parser):
        if name not in commands:
            continue
        lines = [
            "<!-- Written by xenha/cli/pages.py from the command's parser: do not edit. -->",
            "",
        ]
        _section(child, 1, lines, help_line)
        out[name + ".md"] = "\n".join(lines).rstrip() + "\n"
    return out
