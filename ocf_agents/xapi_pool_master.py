"""ocf:xenha:xapi-pool-master - promotable clone whose Promoted instance is the pool master.

Planned moves use ``Pool.designate_new_master`` (VMs keep running). When the
master is dead, a slave takes over with ``Pool.emergency_transition_to_master``
and ``Pool.recover_slaves`` - only after Pacemaker's fencing history shows the
old master's node fenced since it last booted.
"""

import os
import time

from xenha import ocf, pacemaker
from xenha.pool_agent import CONNECTION_PARAMETERS, pool

AGENT = ocf.Agent(
    "xapi-pool-master",
    version="1.0",
    shortdesc="The pool master role of a XAPI pool",
    longdesc="A promotable clone with one instance per pool host: the Promoted instance "
    "is the pool master, the Unpromoted ones are slaves. Promotion moves the master role "
    "(designate_new_master while the master lives; emergency transition and slave "
    "recovery once a dead master has been fenced). Run it with notify=true so a planned "
    "move hands the role over at demote.",
    parameters=CONNECTION_PARAMETERS,
)

PROMOTED_SCORE = 100  # the current master: no needless switches
REACHABLE_SCORE = 10  # a slave that reaches the master
ISOLATED_SCORE = 5  # a slave that cannot reach the master (a candidate if it died)
NEVER = "-INFINITY"  # a host in maintenance


def _target_file(res):
    rsctmp = res.env.get("HA_RSCTMP", "/run/resource-agents")
    return os.path.join(rsctmp, "xenha-%s.promote-target" % res.instance.split(":")[0])


def _in_maintenance(api, host):
    return not api.host.get_enabled(host) or (
        api.host.get_other_config(host).get("MAINTENANCE_MODE", "") == "true"
    )


def _score(res, score):
    try:
        pacemaker.set_promotion_score(res.instance, score)
    except pacemaker.PacemakerError as e:
        res.log.warning("cannot set the promotion score: %s", e)


def _wait_master(p, host, want, deadline):
    """Poll until ``host`` is (want=True) or is not (want=False) the pool master."""
    while (p.client.master() == host) != want:
        if time.time() >= deadline:
            return False
        time.sleep(0.2)
    return True


@AGENT.action("start", timeout=60)
def start(res):
    """There is nothing to start (xapi runs on every host): succeed once xapi answers."""
    if monitor(res) == ocf.NOT_RUNNING:
        raise ocf.generic("xapi does not answer on this host")


@AGENT.action("stop", timeout=60)
def stop(res):
    res.log.info("xapi keeps running; only the promotion score goes")
    _score(res, None)


@AGENT.action("monitor", timeout=30, interval=9, role="Promoted")
@AGENT.action("monitor", timeout=30, interval=10, role="Unpromoted")
def monitor(res):
    from xenha.xapi import XapiUnreachable

    with pool(res, timeout=min(10.0, res.timeout / 2)) as p:
        try:
            reachable = p.client.master_reachable()
            api = p.api if reachable else p.client.emergency().xenapi
            here = p.local_host() if reachable else api.session.get_this_host(api.session_ref)
        except XapiUnreachable as e:
            return res.not_running("xapi does not answer on this host: %s" % e)
        master = p.client.master() if reachable else None
        if _in_maintenance(api, here):
            _score(res, NEVER)
        elif master == here:
            _score(res, PROMOTED_SCORE)
        else:
            _score(res, REACHABLE_SCORE if reachable else ISOLATED_SCORE)
    return ocf.RUNNING_PROMOTED if master == here else ocf.SUCCESS


@AGENT.action("promote", timeout=300)
def promote(res):
    deadline = time.time() + res.timeout * 0.9
    with pool(res, timeout=min(30.0, res.timeout / 3)) as p:
        if p.client.master_reachable():
            here = p.local_host()
            if p.client.master() == here:
                return ocf.SUCCESS
            res.log.info("planned move: designating this host the new pool master")
            p.api.pool.designate_new_master(here)
        else:
            here = _emergency_takeover(p)
        if not _wait_master(p, here, True, deadline):
            raise ocf.generic("this host did not become the pool master in time")
    _score(res, PROMOTED_SCORE)


def _emergency_takeover(p):
    """The master is unreachable: take over once it is confirmed fenced; return this host."""
    em = p.client.emergency()
    api = em.xenapi
    here = api.session.get_this_host(api.session_ref)
    pool_ref = api.pool.get_all()[0]
    old = api.pool.get_master(pool_ref)
    if old == here:
        return here
    boot = api.host.get_other_config(old).get("boot_time")
    since = int(float(boot)) if boot else None
    node = p.require_fenced(old, since, "pool master role")
    p.res.log.warning("master node %s is fenced; emergency transition to master here", node)
    api.pool.emergency_transition_to_master()
    recovered = p.api.pool.recover_slaves()
    p.res.log.info("recovered %d slave(s)", len(recovered))
    return here


@AGENT.action("demote", timeout=120)
def demote(res):
    deadline = time.time() + res.timeout * 0.9
    with pool(res, timeout=min(30.0, res.timeout / 3)) as p:
        here = p.local_host()
        if p.client.master() != here:
            return ocf.SUCCESS
        target = _planned_target(res)
        if not target or target == p.node():
            res.log.info("no promotion planned elsewhere; the promotion will take the role")
            return ocf.SUCCESS
        res.log.info("planned move: handing the pool master role to %s", target)
        p.api.pool.designate_new_master(p.host_of_node(target))
        if not _wait_master(p, here, False, deadline):
            raise ocf.generic("the pool master role did not move to %s in time" % target)
    _score(res, REACHABLE_SCORE)


def _planned_target(res):
    promote = pacemaker.notify_data(res.env)["promote"]
    if promote:
        return promote[0]
    try:
        with open(_target_file(res)) as f:
            return f.read().strip()
    except OSError:
        return ""


@AGENT.action("notify", timeout=30)
def notify(res):
    """Remember which node a transition promotes, so demote can hand over to it."""
    data = pacemaker.notify_data(res.env)
    path = _target_file(res)
    if data["type"] == "pre" and data["promote"]:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(data["promote"][0])
    elif data["type"] == "post" and data["operation"] == "promote":
        try:
            os.remove(path)
        except OSError:
            pass


@AGENT.action("validate-all", timeout=30)
def validate_all(res):
    with pool(res, timeout=min(10.0, res.timeout / 2)) as p:
        p.local_host()


def main():
    AGENT.run()


if __name__ == "__main__":
    main()
