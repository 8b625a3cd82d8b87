"""Fencing through XAPI (the xenha.xapi client): POOL fencing of a host, and XVM fencing of a
host that is itself a VM on a Dom0 (nested test pools).

POOL (HA-Lizard's method) switches no power: it only tells the pool that a
host the pool already sees as not live is dead (``host.declare_dead``: the
host is disabled and the power state of its VMs reset), so the VMs may start
elsewhere. It is only safe behind a level that really cuts power, or with
storage-level protection.
"""

from xenha.fencing import options as o
from xenha.fencing.device import OFF, ON, Device, FenceError, Unreachable

# The password comes from password_file only: the XAPI client reads it from there.
OPTIONS = (
    o.IP,
    o.ipport(desc="Port of XAPI (default 443 with ssl, 80 without)"),
    o.USERNAME,
    o.PASSWORD_FILE,
    o.SSL,
    o.SSL_INSECURE,
    o.SSL_CA_FILE,
)


class XapiDevice(Device):
    """One XAPI session (logged out on close) to ``ip``; errors mapped to fence errors."""

    can_list = True
    unreachable_hint = "XAPI down, wrong address or port"

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        from xenha.xapi import Client, Settings, XapiError, XapiUnreachable

        self.errors = (XapiError, XapiUnreachable)
        self.unreachable = XapiUnreachable
        scheme = "https" if opts.ssl else "http"
        self.url = "%s://%s:%d" % (scheme, opts.ip, opts.ipport or (443 if opts.ssl else 80))
        settings = Settings(
            url=self.url,
            user=opts.username or "root",
            password_file=opts.password_file,
            ca_file=opts.ssl_ca_file,
            insecure=bool(opts.ssl_insecure),
            timeout=opts.login_timeout,
        )
        self.client = Client(settings, originator="xenha-fence", cache_dir=None)
        self.api = self.client.xenapi

    def xapi(self, what, fn, *args):
        """Call ``fn``; XAPI's errors become FenceError, no answer becomes Unreachable."""
        from xenha.errors import XenhaError

        try:
            return fn(*args)
        except self.unreachable as e:
            raise Unreachable("XAPI %s: %s while %s" % (self.url, e, what)) from None
        except XenhaError as e:  # XapiError, ambiguous names, refused credentials
            raise FenceError("XAPI %s: %s while %s" % (self.url, e, what)) from None

    def close(self):
        self.client.close()


class PoolHostDevice(XapiDevice):
    """fence_xenha_xapi: ``plug`` is a pool host (UUID, or a unique name-label)."""

    can_power_on = False

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        self.declared = set()

    def targets(self, plug):
        return [self.xapi("looking up host %r" % plug, self.client.resolve_host, plug)]

    def get_power(self, host):
        """OFF once the host is dead to the pool (not live, or declared dead by us), disabled,
        and no VM is recorded running on it; ON otherwise. The power itself is never known."""
        if host not in self.declared and self.xapi(
            "reading host liveness", self.client.host_is_live, host
        ):
            return ON
        if self.xapi("reading the host", self.api.host.get_enabled, host):
            return ON
        for vm in self.xapi("listing resident VMs", self.api.host.get_resident_VMs, host):
            rec = self.xapi("reading a resident VM", self.api.VM.get_record, vm)
            if not rec["is_control_domain"] and rec["power_state"] != "Halted":
                return ON
        return OFF

    def set_power(self, host, state):
        """host.declare_dead: XAPI itself refuses (HOST_IS_LIVE) a host it can still reach."""
        from xenha.xapi import XapiError

        try:
            self.api.host.declare_dead(host)
        except XapiError as e:
            if e.code == "HOST_IS_LIVE":
                raise FenceError(
                    "the pool still sees host %s live: POOL fencing only confirms a host the "
                    "pool has lost; cut its power with another fence level first" % self._name(host)
                ) from None
            raise FenceError("XAPI %s: %s while declaring the host dead" % (self.url, e)) from None
        except self.unreachable as e:
            raise Unreachable("XAPI %s: %s while declaring the host dead" % (self.url, e)) from None
        self.declared.add(host)

    def _name(self, host):
        return self.xapi("reading the host's UUID", self.api.host.get_uuid, host)

    def outlets(self):
        hosts = self.xapi("listing hosts", self.api.host.get_all_records)
        return sorted((rec["uuid"], rec["name_label"]) for rec in hosts.values())

    def monitor(self):
        self.xapi("reaching the pool master", self.client.master)


class VmDevice(XapiDevice):
    """fence_xenha_xvm: ``plug`` is the VM (UUID or unique name-label) that is a pool host."""

    def targets(self, plug):
        return [self.xapi("looking up VM %r" % plug, self.client.resolve_vm, plug)]

    def get_power(self, vm):
        state = self.xapi("reading the VM's power state", self.api.VM.get_power_state, vm)
        return OFF if state == "Halted" else ON  # Paused or Suspended can come back: not off

    def set_power(self, vm, state):
        if state == OFF:
            self.xapi("hard shutdown", self.api.VM.hard_shutdown, vm)
        else:
            self.xapi("starting the VM", self.api.VM.start, vm, False, False)

    def outlets(self):
        vms = self.xapi("listing VMs", self.api.VM.get_all_records)
        return sorted(
            (rec["uuid"], rec["name_label"])
            for rec in vms.values()
            if not (rec["is_a_template"] or rec["is_a_snapshot"] or rec["is_control_domain"])
        )

    def monitor(self):
        self.xapi("reaching the pool master", self.client.master)
