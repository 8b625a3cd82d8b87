"""event.from in the XAPI simulator, through the official SDK, as xapi answers it
(ocaml/xapi/xapi_event.ml): every object at the first token, then what changed; a
call that waits until a change or its timeout; xapi's token format and errors."""

import threading
import time

from tests.unit.test_lab_pool import failure, login, sim  # noqa: F401 (the fixture)


def event_from(api, classes, token, timeout):
    return getattr(api.event, "from")(classes, token, timeout)  # `from`: a Python keyword


def test_the_first_token_gives_every_object_then_only_what_changed(sim):  # noqa: F811
    api = login(sim).xenapi
    first = event_from(api, ["vm", "host"], "", 1.0)
    ops = {(e["class"], e["operation"]) for e in first["events"]}
    assert ops == {("vm", "add"), ("host", "add")}
    assert len([e for e in first["events"] if e["class"] == "host"]) == 3
    # an int32 on the wire as xapi's int64: bare digits in XML-RPC, a string to the SDK
    assert first["valid_ref_counts"]["vm"] == str(len(api.VM.get_all()))
    generation, messages = first["token"].split(",")
    assert len(generation) == len(messages) == 20 and generation.isdigit()

    vm = next(r for r, v in api.VM.get_all_records().items() if not v["is_control_domain"])
    api.VM.set_name_label(vm, "renamed")
    changed = event_from(api, ["VM"], first["token"], 1.0)  # classes: any case
    assert [(e["operation"], e["ref"]) for e in changed["events"]] == [("mod", vm)]
    assert changed["events"][0]["snapshot"]["name_label"] == "renamed"
    assert changed["token"] > first["token"]  # zero-padded: compared as text, as xapi says

    quiet = event_from(api, ["vm"], changed["token"], 0.3)  # nothing: the timeout answers
    assert quiet["events"] == [] and quiet["token"] == changed["token"]


def test_a_call_waits_for_a_change_and_a_deleted_object_says_del(sim):  # noqa: F811
    api = login(sim).xenapi
    token = event_from(api, ["task"], "", 0.1)["token"]
    task = api.task.create("work", "")
    api.task.set_status(task, "success")  # done: a destroy deletes it (xapi_task.ml)
    token = event_from(api, ["task"], token, 5.0)["token"]
    threading.Timer(0.5, lambda: login(sim).xenapi.task.destroy(task)).start()
    started = time.monotonic()
    answer = event_from(api, ["task/%s" % task], token, 30.0)  # one object
    assert time.monotonic() - started < 30.0  # woken by the change, not by the timeout
    assert [(e["class"], e["operation"], e["ref"]) for e in answer["events"]] == [
        ("task", "del", task)
    ]
    assert "snapshot" not in answer["events"][0]


def test_bad_tokens_and_subscriptions_are_xapis_errors(sim):  # noqa: F811
    api = login(sim).xenapi
    assert failure(event_from, api, ["vm"], "yesterday", 1.0) == [
        "EVENT_FROM_TOKEN_PARSE_FAILURE",
        "yesterday",
    ]
    assert failure(event_from, api, ["/x"], "", 1.0)[0] == "EVENT_SUBSCRIPTION_PARSE_FAILURE"


def test_status_watch_wakes_on_a_pool_change_and_waits_out_a_quiet_pool(sim):  # noqa: F811
    from xenha.pool_watch import PoolWatch
    from xenha.xapi import Settings

    def settings(timeout):
        return Settings(url=sim.master.url, password_file=sim.password_file, timeout=timeout)

    watch = PoolWatch(settings)
    api = login(sim).xenapi
    vm = next(r for r, v in api.VM.get_all_records().items() if not v["is_control_domain"])
    threading.Timer(0.5, lambda: login(sim).xenapi.VM.set_name_description(vm, "x")).start()
    assert watch.wait(60.0) is True  # the change woke it, well before the minute
    assert watch.wait(0.3) is False  # nothing since
    watch.close()
    dead = PoolWatch(lambda timeout: Settings(url="http://127.0.0.1:1/", timeout=timeout))
    assert dead.wait(0.2) is False  # no pool: the clock
