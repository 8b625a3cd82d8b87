"""Declarative options of a fence agent, and parsing them from stdin or the command line.

Names, flags and aliases follow fence-agents, so Pacemaker's fencer, crmsh,
pcs and people's habits work unchanged: ``key=value`` lines on stdin (what
the fencer sends) or ``-a IP -l USER ...`` flags on the command line.
"""

from xenha import values
from xenha.errors import XenhaError


class UsageError(XenhaError):
    """The options given cannot work: a missing, unknown or malformed option."""


class Option(values.Setting):
    """One parameter: its stdin name, flags, type, default and the old names it still accepts."""

    def __init__(
        self,
        name,
        desc,
        short=None,
        type="string",
        default=None,
        required=False,
        aliases=(),
        choices=(),
        metavar=None,
        secret=False,
        no_effect=None,
    ):
        values.Setting.__init__(self, name, type, default, required, choices)
        self.desc = desc
        self.short = short
        self.aliases = tuple(aliases)
        self.metavar = metavar or name.split("_")[-1]
        self.secret = secret
        #: Why this option, accepted for fence-agents' sake, changes nothing (see :func:`inert`).
        self.no_effect = no_effect
        self.value_default = self._typed_default()

    def _typed_default(self):
        return None if self.default is None else self.convert(self.default, "default")

    def but(self, **changes):
        """This option with some attributes changed: an agent's own default, text or choices."""
        given = dict(
            name=self.name,
            desc=self.desc,
            short=self.short,
            type=self.type,
            default=self.default,
            required=self.required,
            aliases=self.aliases,
            choices=self.choices,
            metavar=self.metavar,
            secret=self.secret,
            no_effect=self.no_effect,
        )
        given.update(changes)
        return Option(**given)

    @property
    def long(self):
        return self.name.replace("_", "-")

    @property
    def takes_value(self):
        return self.type != "boolean"

    def getopt_text(self):
        """The ``mixed`` attribute of the metadata: ``-a, --ip=[ip]``."""
        flags = ("-%s, " % self.short if self.short else "") + "--" + self.long
        return flags + ("=[%s]" % self.metavar if self.takes_value else "")

    def convert(self, raw, where):
        """Turn the text given for this option into its value; UsageError if it is malformed."""
        try:
            return self.parse(raw)
        except ValueError as e:
            raise UsageError("%s: %s=%s" % (where, self.name, e)) from None


class Options:
    """Parsed option values, read as attributes (``opts.ip``) with defaults applied."""

    def __init__(self, specs, given, unknown=()):
        self._specs = {s.name: s for s in specs}
        self._values = dict(given)
        self.unknown = list(unknown)

    def __getattr__(self, name):
        try:
            spec = self.__dict__["_specs"][name]
        except KeyError:
            raise AttributeError(name) from None
        return self._values.get(name, spec.value_default)

    def given(self, name):
        return name in self._values

    def secret(self, prefix="password", required=True):
        """The secret from ``<prefix>_file`` (root-only), ``<prefix>_script`` or ``<prefix>``
        itself, in that order of preference (``password``; ``snmp_priv_passwd`` for SNMPv3
        privacy); UsageError when it cannot be had, or is missing and ``required``."""
        from xenha import secrets

        try:
            path = getattr(self, prefix + "_file", None)
            if path:
                return secrets.read_file(path, prefix + "_file")
            script = getattr(self, prefix + "_script", None)
            if script:
                return secrets.run_script(script, self.login_timeout, prefix + "_script")
        except XenhaError as e:
            raise UsageError(str(e)) from None
        value = getattr(self, prefix, None)
        if value:
            return value
        if required:
            raise UsageError("no %s: set %s_file (root-only), %s_script or %s" % ((prefix,) * 4))
        return None

    def __repr__(self):
        shown = {k: ("***" if self._specs[k].secret else v) for k, v in self._values.items()}
        return "Options(%r)" % shown


# Pacemaker's fencer adds these; fence-agents ignore them silently, and so do we.
IGNORED_SILENTLY = ("nodename",)


def _index(specs):
    names = {}
    for spec in specs:
        for name in (spec.name,) + spec.aliases:
            names[name] = spec
            names[name.replace("_", "-")] = spec
    return names


def parse_stdin(specs, text):
    """Parse ``key=value`` lines (``#`` comments, blank lines, ``"quoted"`` values)."""
    names = _index(specs)
    given, unknown = {}, []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition("=")
        key = key.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1]
        spec = names.get(key)
        if spec is None:
            if key not in IGNORED_SILENTLY:
                unknown.append(key)
            continue
        if not sep and spec.takes_value:
            raise UsageError("stdin line %d: %s needs a value (%s=...)" % (lineno, key, key))
        given[spec.name] = spec.convert(raw if sep else "1", "stdin line %d" % lineno)
    return Options(specs, given, unknown)


def parse_argv(specs, argv):
    """Parse command-line flags (``-o off -a 10.0.0.5`` or ``--action=off --ip=...``)."""
    import getopt  # here: it pulls in gettext and re, and the fencer uses stdin

    names = _index(specs)
    shorts = "".join(s.short + (":" if s.takes_value else "") for s in specs if s.short)
    longs = sorted(
        {n.replace("_", "-") + ("=" if spec.takes_value else "") for n, spec in names.items()}
    )
    try:
        pairs, rest = getopt.gnu_getopt(argv, shorts, longs)
    except getopt.GetoptError as e:
        raise UsageError("command line: %s" % e.msg) from None
    if rest:
        raise UsageError("command line: unexpected argument %r" % rest[0])
    by_short = {s.short: s for s in specs if s.short}
    given = {}
    for flag, raw in pairs:
        spec = by_short[flag[1:]] if not flag.startswith("--") else names[flag[2:]]
        if spec.secret:
            raise UsageError(
                "command line: --%s would show the secret to every user in `ps`; give it on "
                "stdin, in password_file or through password_script" % spec.long
            )
        given[spec.name] = spec.convert(raw, "option --" + spec.long) if spec.takes_value else True
    return Options(specs, given)


def check_required(opts, specs):
    """UsageError naming the first required option that was not given."""
    for spec in specs:
        if spec.required and getattr(opts, spec.name) in (None, ""):
            raise UsageError("missing required option %s (%s)" % (spec.name, spec.getopt_text()))


# The options every xenha fence agent shares, with fence-agents' names, flags and aliases.
ACTION = Option(
    "action", "Fencing action", short="o", default="reboot", aliases=("option",), metavar="action"
)
PLUG = Option(
    "plug",
    "Outlet, host or VM to act on (Pacemaker passes the node's pcmk_host_map entry here)",
    short="n",
    aliases=("port",),
    metavar="id",
)
VERBOSE = Option("verbose", "Log the steps taken to stderr", short="v", type="boolean")
POWER_TIMEOUT = Option(
    "power_timeout",
    "Seconds to poll the device until the new power "
    "state is read back; after that the action fails",
    type="second",
    default="20",
)
POWER_WAIT = Option(
    "power_wait",
    "Seconds to wait after issuing ON/OFF before the first read-back (0: poll at once)",
    type="second",
    default="0",
)
LOGIN_TIMEOUT = Option(
    "login_timeout",
    "Seconds each call to the device may take before it counts as unreachable",
    type="second",
    default="5",
)
IP = Option(
    "ip",
    "IP address or host name of the fencing device",
    short="a",
    aliases=("ipaddr",),
    required=True,
    metavar="ip",
)
USERNAME = Option("username", "Login name", short="l", aliases=("login",), metavar="name")
PASSWORD = Option(
    "password",
    "Login password (accepted on stdin for compatibility; prefer password_file)",
    short="p",
    aliases=("passwd",),
    secret=True,
    metavar="password",
)
PASSWORD_SCRIPT = Option(
    "password_script",
    "Script that prints the password on stdout; "
    "run without a shell and without the secret in its arguments",
    short="S",
    aliases=("passwd_script",),
    metavar="script",
)
PASSWORD_FILE = Option(
    "password_file",
    "File holding the password on its first line; must not be readable by group or others",
    metavar="path",
)
SSL_INSECURE = Option("ssl_insecure", "Do not verify the device's TLS certificate", type="boolean")
SSL_CA_FILE = Option(
    "ssl_ca_file", "CA bundle that signs the device's TLS certificate", metavar="path"
)
COMMUNITY = Option(
    "community", "SNMP community", short="c", default="private", metavar="community", secret=True
)
SNMP_VERSION = Option(
    "snmp_version",
    "SNMP version",
    short="d",
    type="select",
    choices=("1", "2c", "3"),
    default="1",
    metavar="version",
)
SNMP_V3 = (
    Option(
        "snmp_sec_level",
        "SNMPv3 security level",
        short="E",
        type="select",
        choices=("noAuthNoPriv", "authNoPriv", "authPriv"),
        default="authPriv",
        metavar="level",
    ),
    Option(
        "snmp_auth_prot",
        "SNMPv3 authentication protocol (the key is the password)",
        short="b",
        type="select",
        choices=("MD5", "SHA"),
        default="SHA",
        metavar="prot",
    ),
    Option(
        "snmp_priv_prot",
        "SNMPv3 privacy protocol",
        short="B",
        type="select",
        choices=("DES", "AES"),
        default="AES",
        metavar="prot",
    ),
    Option(
        "snmp_priv_passwd",
        "SNMPv3 privacy password (stdin only; prefer snmp_priv_passwd_file)",
        short="P",
        secret=True,
        metavar="password",
    ),
    Option(
        "snmp_priv_passwd_file",
        "File holding the SNMPv3 privacy password; must not be readable by group or others",
        metavar="path",
    ),
    Option(
        "snmp_priv_passwd_script",
        "Script that prints the SNMPv3 privacy password",
        short="R",
        metavar="script",
    ),
)

IDENTITY_FILE = Option("identity_file", "SSH private key to log in with", short="k", metavar="path")
KNOWN_HOSTS = Option(
    "known_hosts",
    "known_hosts file that must hold the server's host key (never learnt on the fly)",
    default="/root/.ssh/known_hosts",
    metavar="path",
)

SSL = Option(
    "ssl",
    "Use HTTPS (certificate verified unless ssl_insecure=1)",
    short="z",
    type="boolean",
    default="1",
)

COMMON = (ACTION, PLUG, VERBOSE, POWER_TIMEOUT, POWER_WAIT, LOGIN_TIMEOUT)
LOGIN = (IP, USERNAME, PASSWORD, PASSWORD_SCRIPT, PASSWORD_FILE)


def inert(option, reason):
    """``option`` accepted with no effect: fence-agents' agents all take it, so users and
    migrated configurations pass it, but it means nothing to this agent. Given, it draws a
    warning that says ``reason``; it is never dropped in silence."""
    return option.but(
        desc="%s; no effect on this agent: %s" % (option.desc, reason),
        default=None,
        no_effect=reason,
    )


# The rest of fence-agents' default option set (DEPENDENCY_OPT["default"] in its fencing.py),
# which every fence agent takes; FenceAgent adds it to each of ours (fence_agents_defaults).
HELP = Option("help", "Display help and exit", short="h", type="boolean")
VERSION = Option("version", "Display version information and exit", short="V", type="boolean")
VERBOSE_LEVEL = Option(
    "verbose_level",
    "Level of detail on stderr; above 0 acts as verbose (xenha has a single level)",
    type="integer",
    metavar="level",
)
QUIET = Option(
    "quiet",
    "Write nothing to stderr; syslog and debug_file are written as before",
    short="q",
    type="boolean",
)
DEBUG_FILE = Option(
    "debug_file",
    "Also append every line of the agent, debug included, to this file",
    short="D",
    aliases=("debug",),
    metavar="debugfile",
)
DELAY = Option(
    "delay",
    "Seconds off and reboot wait, counted from the agent's start, before they touch the"
    " device (to settle two-node fence races). The delay counts against the fence action's"
    " timeout (pcmk_off_timeout, pcmk_reboot_timeout, else stonith-timeout); Pacemaker's"
    " cluster-side equivalent, pcmk_delay_base / pcmk_delay_max, is added to that timeout",
    type="second",
    default="0",
    metavar="seconds",
)
STONITH_STATUS_SLEEP = Option(
    "stonith_status_sleep",
    "Seconds between read-backs of the new power state (default: every 0.1 s for the first"
    " 3 s, then every 0.5 s)",
    type="second",
    metavar="seconds",
)
RETRY_ON = Option(
    "retry_on",
    "Attempts to switch the power on (on, and the on step of reboot), each read back within"
    " power_timeout (0 counts as 1)",
    type="integer",
    default="1",
    metavar="attempts",
)
PLUG_SEPARATOR = Option(
    "plug_separator",
    "Separator between the plugs of a list such as 3,4",
    default=",",
    metavar="char",
)
NO_EFFECT = (
    inert(
        Option(
            "shell_timeout",
            "Seconds to wait for the prompt after a command",
            type="second",
            metavar="seconds",
        ),
        "login_timeout bounds every call to the device, commands included",
    ),
    inert(
        Option("disable_timeout", "Turn the timeouts off (true/false)", metavar="true/false"),
        "login_timeout and power_timeout always hold, so that a silent device fails the"
        " action rather than hanging it",
    ),
    inert(
        Option("agent", "Name of the fence agent", metavar="name"),
        "the fencer chooses the agent to run; the name given is not checked",
    ),
)


def fence_agents_defaults(powers_on, plug_lists):
    """The rest of fence-agents' default option set (action, verbose and the timeouts are
    each agent's own), for an agent that can switch the power on or not and takes lists of
    plugs or not: retry_on and plug_separator are honoured only where they mean something."""
    retry_on = RETRY_ON if powers_on else inert(RETRY_ON, "nothing switches the power back on")
    separator = PLUG_SEPARATOR
    if not plug_lists:
        separator = inert(
            PLUG_SEPARATOR,
            "the agent switches a single target, so there is no list of plugs to split",
        )
    honoured = (HELP, VERSION, VERBOSE_LEVEL, QUIET, DEBUG_FILE, DELAY, STONITH_STATUS_SLEEP)
    return honoured + (retry_on, separator) + NO_EFFECT


IPPORT = Option(
    "ipport", "TCP/UDP port of the fencing device", short="u", type="integer", metavar="port"
)
METHOD = Option(
    "method", "Protocol used to talk to the device", short="m", type="select", metavar="method"
)


def ipport(default=None, desc=IPPORT.desc):
    """:data:`IPPORT` with an agent's default port and description."""
    return IPPORT.but(desc=desc, default=None if default is None else str(default))


def method(choices, default):
    """:data:`METHOD` with the protocols an agent speaks and the one it uses by default."""
    return METHOD.but(choices=choices, default=default)
