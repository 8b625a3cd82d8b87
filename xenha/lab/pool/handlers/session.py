"""session.*: the calls that need a session; logins are handled by rpc before a session exists."""

from ..api_errors import Failure
from . import call


@call("session.logout", has_async=False)
def logout(ctx):
    ctx.host.sessions.close(ctx.session.ref)
    return ""


@call("session.local_logout", has_async=False)
def local_logout(ctx):
    return logout(ctx)


def _session(ctx, ref):
    s = ctx.host.sessions.get(ref)
    if s is None:
        raise Failure("HANDLE_INVALID", "session", ref)
    return s


@call("session.get_this_host", read_only=True, has_async=False)
def get_this_host(ctx, self_ref):
    return _session(ctx, self_ref).host


@call("session.get_record", read_only=True, has_async=False)
def get_record(ctx, self_ref):
    return _session(ctx, self_ref).record()


@call("session.get_uuid", read_only=True, has_async=False)
def get_uuid(ctx, self_ref):
    return _session(ctx, self_ref).uuid
