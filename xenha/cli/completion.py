"""`xenha completion bash|zsh`: shell completion computed by xenha from its own parser.

The script a shell loads only hands the words typed so far to ``xenha completion
--words`` (NUL-separated on stdin: the index of the word being completed, then the
words, the command first) and offers what it prints: a first line ``words`` or
``files`` (file names: the shell quotes them and marks directories), then one
candidate per line. The candidates come from walking the argparse parser of
``xenha`` (commands, subcommands, options, choices), so they follow every command as
it is added; an argument's values by its name: NODE the cluster's nodes
(``crm_node -l``), VM the xen-vm resources of the CIB, a ``config`` command's FILE
the descriptions (``*.yaml``, ``*.yml``) and directories, other files and
directories by their option. Without Pacemaker those lists are quietly empty; no
XAPI call is made.
"""

import argparse
import os
import sys

SHELLS = ("bash", "zsh")
TOOL_TIMEOUT = 2.0  # seconds for crm_node or cibadmin while someone waits at a prompt

BASH = r"""# xenha completion for bash: eval "$(xenha completion bash)", or save it as
# /etc/bash_completion.d/xenha (or ~/.local/share/bash-completion/completions/xenha).
_xenha() {
    local IFS=$'\n' reply
    reply=($(printf '%s\0' "$COMP_CWORD" "${COMP_WORDS[@]}" \
        | "$1" completion --words 2>/dev/null))
    COMPREPLY=("${reply[@]:1}")
    if [[ ${reply[0]} == files ]]; then
        compopt -o filenames 2>/dev/null
    fi
    return 0
}
complete -F _xenha xenha
"""

ZSH = r"""#compdef xenha
# xenha completion for zsh: save it as _xenha in a directory of $fpath (before
# compinit runs), or source it after `autoload -U compinit && compinit`.
_xenha() {
    local -a reply dirs
    reply=("${(@f)$(printf '%s\0' $((CURRENT - 1)) "${words[@]}" \
        | "${words[1]}" completion --words 2>/dev/null)}")
    if [[ ${reply[1]} == files ]]; then
        dirs=(${(M)reply[2,-1]:#*/})
        compadd -f -S '' -- "${dirs[@]}"
        compadd -f -- "${(@)reply[2,-1]:#*/}"
    else
        compadd -- "${(@)reply[2,-1]}"
    fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _xenha "$@"
else
    compdef _xenha xenha
fi
"""


def register(sub):
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        description="Print the completion script for SHELL: commands, subcommands, options "
        "and their values (node names, the CIB's VM resources, description files) are "
        "computed by xenha from its own parser each time Tab is pressed. bash: "
        'eval "$(xenha completion bash)" in ~/.bashrc, or save the script as '
        "/etc/bash_completion.d/xenha. zsh: save it as _xenha in a directory of $fpath, "
        "or source it after compinit.",
    )
    p.add_argument("shell", nargs="?", choices=SHELLS, metavar="SHELL", help="bash or zsh")
    # The scripts' protocol: the words on stdin, the candidates on stdout.
    p.add_argument("--words", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args):
    from xenha.errors import XenhaError

    if args.words:
        from xenha.cli.main import build_parser

        data = sys.stdin.read().split("\0")
        try:
            cword, words = int(data[0]), data[1:]
        except ValueError:
            return 1
        if words and words[-1] == "":  # printf's last NUL
            words.pop()
        kind, found = candidates(build_parser(), words, cword)
        sys.stdout.write("".join(line + "\n" for line in [kind] + found))
        return 0
    if not args.shell:
        raise XenhaError("name the shell: xenha completion bash, or xenha completion zsh")
    sys.stdout.write(BASH if args.shell == "bash" else ZSH)
    return 0


# -- what the parser accepts ------------------------------------------------------------------


def _subcommands(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _visible(subparsers):
    hidden = {a.dest for a in subparsers._choices_actions if a.help == argparse.SUPPRESS}
    return [name for name in subparsers.choices if name not in hidden]


def _options(parser):
    return {s: a for a in parser._actions for s in a.option_strings}


def _takes_value(action):
    return action.nargs != 0


def _positionals(parser):
    return [
        a
        for a in parser._actions
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
    ]


def candidates(parser, words, cword):
    """``(kind, words)``: what may stand as word ``cword`` of ``words`` (``words[0]`` the
    command), as ``xenha``'s ``parser`` reads them; kind ``files`` or ``words``."""
    current = words[cword] if cword < len(words) else ""
    path, expecting, positionals, only_positionals = (), None, 0, False
    i = 1
    while i < min(cword, len(words)):
        word = words[i]
        i += 1
        if word == "=":  # bash splits --opt=value at "=": the value follows
            continue
        if expecting is not None:
            expecting = None
            continue
        if word == "--":
            only_positionals = True
        elif word.startswith("-") and len(word) > 1 and not only_positionals:
            action = _options(parser).get(word.split("=", 1)[0])
            if action is not None and _takes_value(action) and "=" not in word:
                expecting = action
            continue
        sub = _subcommands(parser)
        if sub is not None and word in sub.choices:
            parser, path, positionals = sub.choices[word], path + (word,), 0
        else:
            positionals += 1
    if current == "=":  # "--vm=" then Tab: the option's values
        current = ""
    if expecting is not None:
        return _values(expecting, path, current)
    if current.startswith("-") and not only_positionals:
        names = [s for s, a in sorted(_options(parser).items()) if a.help != argparse.SUPPRESS]
        return "words", [s for s in names if s.startswith(current)]
    sub = _subcommands(parser)
    if sub is not None:
        return "words", sorted(n for n in _visible(sub) if n.startswith(current))
    slots = _positionals(parser)
    if slots:
        slot = slots[min(positionals, len(slots) - 1)]
        if positionals < len(slots) or slot.nargs in ("*", "+", argparse.REMAINDER):
            return _values(slot, path, current)
    return "words", []


# -- the values of an argument ---------------------------------------------------------------


def _values(action, path, current):
    """``(kind, words)`` for a value of ``action`` (under the commands ``path``) that
    starts with ``current``."""
    if action.choices:
        return "words", [str(c) for c in action.choices if str(c).startswith(current)]
    dest = action.dest.lower()
    metavar = str(action.metavar or "").lower()
    if "node" in (dest, metavar):
        return "words", [n for n in _nodes() if n.startswith(current)]
    if "vm" in (dest, metavar):
        return "words", [v for v in _vms() if v.startswith(current)]
    if dest == "file" and path[:1] == ("config",):
        return "files", _files(current, (".yaml", ".yml"))
    if dest.endswith("dir") or dest == "root" or metavar == "dir":
        return "files", _files(current, dirs_only=True)
    if dest.endswith("file") or dest in ("output", "settings") or metavar in ("path", "file"):
        return "files", _files(current)
    return "words", []


def _nodes():
    """The nodes the cluster knows; none without Pacemaker."""
    from xenha import pacemaker

    try:
        return sorted(pacemaker.nodes(timeout=TOOL_TIMEOUT))
    except pacemaker.PacemakerError:
        return []


def _vms():
    """The xen-vm resources of the CIB; none without a cluster."""
    from xenha import pacemaker
    from xenha.crm.agents import VM_AGENT

    try:
        cib = pacemaker.cib("resources", timeout=TOOL_TIMEOUT)
        return sorted(pacemaker.primitives(cib, VM_AGENT))
    except pacemaker.PacemakerError:
        return []


def _files(current, suffixes=None, dirs_only=False):
    """The directories (with a ``/``) and files (those ending in ``suffixes``, when
    given) whose path starts with ``current``, as typed (``~`` kept)."""
    folder, prefix = os.path.split(current)
    where = os.path.expanduser(folder) or "."
    try:
        names = sorted(os.listdir(where))
    except OSError:
        return []
    found = []
    for name in names:
        if not name.startswith(prefix) or (name.startswith(".") and not prefix.startswith(".")):
            continue
        typed = os.path.join(folder, name)
        if os.path.isdir(os.path.join(where, name)):
            found.append(typed + "/")
        elif not dirs_only and (suffixes is None or name.endswith(suffixes)):
            found.append(typed)
    return found
