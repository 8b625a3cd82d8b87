"""Power control by commands run over SSH (paramiko), with the host key verified.

Used by fence_xenha_drac (method=racadm: Dell's ``racadm serveraction`` on the
DRAC's SSH shell) and fence_xenha_ssh (a power controller's commands, for test
labs). The server's host key must already be in ``known_hosts``: an unknown
or changed key is a failure, never accepted on the fly.
"""

import re
import socket

from xenha.fencing.device import OFF, ON, Device, FenceError, Unreachable

PORT = 22
DEFAULT_KNOWN_HOSTS = "/root/.ssh/known_hosts"
STATE_WORD = re.compile(r"\b(on|off)\b", re.IGNORECASE)


class SshCommandDevice(Device):
    """Runs ``commands[state]`` to switch and ``commands['status']`` to read the state.

    The status output must name the state as a word, ``ON`` or ``OFF``
    (racadm: "Server power status: ON"); anything else is an unknown state.
    """

    unreachable_hint = "host down, wrong address or port, or sshd not answering"

    def commands(self, target):
        """``{"on": ..., "off": ..., "status": ...}`` for ``target``."""
        raise NotImplementedError

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        import paramiko

        self.paramiko = paramiko
        self.where = "%s:%s" % (opts.ip, opts.ipport or PORT)
        client = paramiko.SSHClient()
        try:
            client.load_host_keys(opts.known_hosts)
        except OSError as e:
            raise FenceError("known_hosts %s: %s" % (opts.known_hosts, e.strerror)) from None
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        given = ("password_file", "password_script", "password")
        password = secret() if any(getattr(opts, n, None) for n in given) else None
        try:
            client.connect(
                opts.ip,
                port=opts.ipport or PORT,
                username=opts.username or "root",
                password=password,
                key_filename=opts.identity_file or None,
                timeout=opts.login_timeout,
                banner_timeout=opts.login_timeout,
                auth_timeout=opts.login_timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except paramiko.BadHostKeyException:
            raise FenceError(
                "host key of %s does not match %s: refusing to connect"
                % (self.where, opts.known_hosts)
            ) from None
        except paramiko.AuthenticationException:
            raise FenceError(
                "%s refused the login for user %r" % (self.where, opts.username or "root")
            ) from None
        except paramiko.SSHException as e:
            if "not found in known_hosts" in str(e):
                raise FenceError(
                    "host key of %s is not in %s; add it (ssh-keyscan, checked by hand) first"
                    % (self.where, opts.known_hosts)
                ) from None
            raise Unreachable("%s: %s" % (self.where, e)) from None
        except (OSError, socket.timeout) as e:
            raise Unreachable("%s: %s" % (self.where, e)) from None
        self.client = client

    def _run(self, command):
        try:
            _, stdout, stderr = self.client.exec_command(command, timeout=self.opts.login_timeout)
            out = stdout.read().decode("utf-8", "replace")
            err = stderr.read().decode("utf-8", "replace")
            rc = stdout.channel.recv_exit_status()
        except (self.paramiko.SSHException, OSError, socket.timeout) as e:
            raise Unreachable("%s: %s while running %r" % (self.where, e, command)) from None
        if rc != 0:
            raise FenceError(
                "%s: %r failed (exit %d): %s"
                % (self.where, command, rc, (err or out).strip()[-300:])
            )
        return out

    def set_power(self, target, state):
        self._run(self.commands(target)[state])

    def get_power(self, target):
        command = self.commands(target)["status"]
        out = self._run(command)
        words = {w.lower() for w in STATE_WORD.findall(out)}
        if len(words) != 1:
            raise FenceError(
                "%s: cannot read ON or OFF in the output of %r: %r"
                % (self.where, command, out.strip()[-200:])
            )
        return words.pop()

    def close(self):
        self.client.close()


class RacadmDevice(SshCommandDevice):
    """A Dell DRAC's SSH shell: ``racadm serveraction``."""

    plugs = False
    unreachable_hint = "DRAC down, wrong address or port, or SSH disabled on the DRAC"

    def commands(self, target):
        return {
            ON: "racadm serveraction powerup",
            OFF: "racadm serveraction powerdown",
            "status": "racadm serveraction powerstatus",
        }


class CommandTemplateDevice(SshCommandDevice):
    """fence_xenha_ssh: commands from the options, ``{plug}`` replaced by the plug."""

    needs_secret = False  # a key (identity_file) is the usual way

    def targets(self, plug):
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", plug):
            raise FenceError("plug %r may only hold letters, digits, '.', '_', ':', '-'" % plug)
        return [plug]

    def commands(self, target):
        o = self.opts
        return {
            ON: o.on_command.format(plug=target),
            OFF: o.off_command.format(plug=target),
            "status": o.status_command.format(plug=target),
        }
