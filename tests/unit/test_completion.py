"""`xenha completion`: the bash script run by bash with COMP_WORDS/COMP_CWORD set, the zsh
script by zsh with its completion builtins stubbed; every command, subcommand and
option of the parser offered; node names, VM resources and description files as
values; nothing, quietly and quickly, without Pacemaker."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import BIN
from tests.unit.test_cli import command_paths
from xenha.cli import completion
from xenha.cli.main import build_parser

XENHA = os.path.join(BIN, "xenha")
UUID = "028e180c-5d14-4a9f-8274-24f70a3940af"
CIB = (
    '<resources><primitive id="vm-erp-db" class="ocf" provider="xenha" type="xen-vm">'
    '<instance_attributes id="a"><nvpair id="b" name="vm" value="%s"/></instance_attributes>'
    '</primitive><primitive id="vm-wiki" class="ocf" provider="xenha" type="xen-vm"/>'
    '<primitive id="fence-xs1" class="stonith" type="fence_xenha_ilo"/></resources>' % UUID
)


@pytest.fixture
def cluster(tmp_path):
    """PATH with a fake crm_node and cibadmin, and a directory of description files."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in (
        ("crm_node", "printf '1 xs1 member\\n2 xs2 lost\\n3 xs3 member\\n'"),
        ("cibadmin", "cat <<'EOF'\n%s\nEOF" % CIB),
    ):
        (bin_dir / tool).write_text("#!/bin/sh\n%s\n" % body)
        (bin_dir / tool).chmod(0o755)
    work = tmp_path / "work"
    (work / "sites").mkdir(parents=True)
    for name in ("pool.yaml", "lab.yml", "notes.txt", ".hidden.yaml"):
        (work / name).write_text("")
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]))
    return {"env": env, "cwd": str(work)}


def split(line):
    """The words bash makes of ``line``: at spaces, and around "=" (COMP_WORDBREAKS)."""
    words = []
    for word in line.split(" "):
        parts = [p for p in re.split("(=)", word) if p] or [""]
        words += parts
    return words


def bash_complete(line, env=None, cwd=None):
    """COMPREPLY of the generated bash function for ``line`` (the word under the cursor
    last; a trailing space: a new, empty word), as bash's programmable completion calls it."""
    words = split(line)
    script = (
        'eval "$("$XENHA" completion bash)"\n'
        'COMP_WORDS=("$XENHA" "$@"); COMP_CWORD=$#\n'
        '_xenha "$XENHA" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = dict(env or os.environ, XENHA=XENHA)
    r = subprocess.run(["bash", "-c", script, "bash"] + words[1:], env=env, cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=30)  # fmt: skip
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return [w for w in r.stdout.split("\n") if w]


def visible_options(parser):
    return sorted(
        s for a in parser._actions if a.help != argparse.SUPPRESS for s in a.option_strings
    )


def parser_at(path):
    parser = build_parser()
    for name in path:
        parser = completion._subcommands(parser).choices[name]
    return parser


def test_bash_offers_every_command():
    top = sorted(p[0] for p in command_paths() if len(p) == 1)
    assert bash_complete("xenha ") == top
    assert bash_complete("xenha co") == ["completion", "config"]


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_subcommand_and_option_of_the_parser_is_offered(path):
    parser = parser_at(path)
    words = ["xenha"] + list(path) + ["-"]
    kind, found = completion.candidates(build_parser(), words, len(words) - 1)
    assert found == visible_options(parser) and "--words" not in found
    sub = completion._subcommands(parser)
    if sub is not None:
        words[-1] = ""
        assert completion.candidates(build_parser(), words, len(words) - 1)[1] == sorted(
            sub.choices
        )


def test_bash_completes_options_and_their_choices():
    assert bash_complete("xenha log --f") == ["--file", "--follow"]
    assert bash_complete("xenha log --source ") == ["auto", "journal", "files"]
    assert bash_complete("xenha log --source j") == ["journal"]
    assert bash_complete("xenha log --since=") == []  # a time: nothing to offer
    assert bash_complete("xenha log --source=f") == ["files"]  # bash splits at "="
    assert bash_complete("xenha log -f --source journal --") == [
        "--file", "--follow", "--help", "--json", "--lines", "--node", "--since",
        "--source", "--vm"]  # fmt: skip
    assert bash_complete("xenha completion ") == ["bash", "zsh"]
    assert bash_complete("xenha alert ") == ["test"]
    assert bash_complete("xenha alert test --to ") == []


def test_node_names_and_vm_resources_come_from_the_cluster(cluster):
    assert bash_complete("xenha log --node ", **cluster) == ["xs1", "xs2", "xs3"]
    assert bash_complete("xenha fence confirm x", **cluster) == ["xs1", "xs2", "xs3"]
    assert bash_complete("xenha log --vm ", **cluster) == ["vm-erp-db", "vm-wiki"]
    assert bash_complete("xenha log -f --vm=vm-e", **cluster) == ["vm-erp-db"]


def test_config_commands_offer_descriptions_and_directories(cluster):
    assert bash_complete("xenha config validate ", **cluster) == ["lab.yml", "pool.yaml",
                                                                  "sites/"]  # fmt: skip
    assert bash_complete("xenha config generate p", **cluster) == ["pool.yaml"]
    assert bash_complete("xenha config generate pool.yaml -o ", **cluster) == [
        "lab.yml", "notes.txt", "pool.yaml", "sites/"]  # fmt: skip
    assert bash_complete("xenha config validate .h", **cluster) == [".hidden.yaml"]
    assert bash_complete("xenha log --file sites/", **cluster) == []


def test_without_pacemaker_values_are_quietly_none_and_quick(tmp_path):
    env = dict(os.environ, PATH="%s:/usr/bin:/bin" % tmp_path)  # no crm_node, no cibadmin
    started = time.monotonic()
    assert bash_complete("xenha log --node ", env=env) == []
    assert bash_complete("xenha log --vm ", env=env) == []
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("words", ["2\0xenha\0status\0--\0", "3\0xenha\0log\0--vm\0\0"])
def test_a_completion_imports_neither_xapi_nor_the_generator(words):
    code = (
        "import sys\nfrom xenha.cli import main\n"
        "try:\n    main.main(['completion', '--words'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('XenAPI', 'yaml', 'jinja2')"
        " or m.startswith(('xenha.xapi', 'xenha.crm.render'))]\n"
        "print(heavy, file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], input=words,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=30)  # fmt: skip
    assert r.stdout.split("\n")[0] == "words", r.stdout + r.stderr
    assert r.stderr.strip() == "[]"


def test_the_command_wants_a_shell(xenha):
    r = xenha("completion")
    assert r.returncode == 1 and "xenha: error: name the shell" in r.stderr
    r = xenha("completion", "fish")
    assert r.returncode == 2 and "invalid choice" in r.stderr


ZSH_DRIVER = """
compdef() { :; }
compadd() {
    local -a args; args=("$@")
    local i=${args[(i)--]}
    local -a flags; local a
    for a in "${(@)args[1,i-1]}"; do flags+=(${(q)a}); done
    print -r -- "compadd ${flags}|${(j:,:)args[i+1,-1]}"
}
source <("$XENHA" completion zsh)
words=("$XENHA" "${@[@]}"); CURRENT=$(( $# + 1 ))
_xenha
"""


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_hands_the_candidates_to_compadd(cluster):
    def zsh(line):
        words = split(line)[1:]
        env = dict(cluster["env"], XENHA=XENHA)
        r = subprocess.run(["zsh", "-f", "-c", ZSH_DRIVER, "zsh"] + words, env=env,
                           cwd=cluster["cwd"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=30)  # fmt: skip
        assert r.returncode == 0 and r.stderr == "", r.stderr
        return r.stdout.splitlines()

    assert zsh("xenha lo") == ["compadd |log"]
    assert zsh("xenha log --node ") == ["compadd |xs1,xs2,xs3"]
    assert zsh("xenha config validate ") == ["compadd -f -S ''|sites/",
                                             "compadd -f|lab.yml,pool.yaml"]  # fmt: skip


ZPTY_DRIVER = r"""
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="> "; autoload -U compinit && compinit -u -D; source <("$XENHA" completion zsh)'
zpty -w z 'print RE""ADY'
zpty -r z out '*READY*'
zpty -w -n z $'xenha completion zs\t'
zpty -r z out '*zsh*'
zpty -w -n z $'\r'
zpty -r z out '*#compdef xenha*' && print 'ran: xenha completion zsh'
zpty -w -n z $'xenha config validate p\t'
zpty -r z out '*pool.yaml*' && print 'completed: pool.yaml'
zpty -d z
"""


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_at_a_real_prompt(cluster):
    """An interactive zsh on a pseudo-terminal (zsh/zpty), compinit loaded: Tab completes
    `xenha completion zs` to zsh (the command then runs: it prints the script) and
    `xenha config validate p` to pool.yaml."""
    env = dict(cluster["env"], XENHA=XENHA)
    env["PATH"] = BIN + ":" + env["PATH"]  # xenha as the shell finds it
    r = subprocess.run(["zsh", "-f", "-c", ZPTY_DRIVER], env=env, cwd=cluster["cwd"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=30)  # fmt: skip
    assert r.stdout.splitlines() == ["ran: xenha completion zsh", "completed: pool.yaml"], (
        r.stdout + r.stderr
    )
