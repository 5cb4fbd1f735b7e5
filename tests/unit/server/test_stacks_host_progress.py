"""How a host rollout names replicas and failed healthchecks (pure formatting)."""

from __future__ import annotations

from fleetdeck.server.stacks.host.progress import (
    HEALTH_OUTPUT_MAX,
    Replica,
    health_reason,
    last_health_check,
)

OLD = "9b801bfec1ef" + "0" * 52
NEW = "f5dc55ba0e93" + "1" * 52


def test_old_and_new_replicas_of_one_name_read_differently() -> None:
    old = Replica("shop-web-1", "old", OLD)
    new = Replica("shop-web-1", "new", NEW, replaces=OLD)
    assert old.text == "old shop-web-1 (9b801bfec1ef)"
    assert (new.text, new.succession) == ("new shop-web-1", " (replaces 9b801bfec1ef)")
    assert new.fields() == {
        "replica": "new", "container_id": "f5dc55ba0e93", "replaces": "9b801bfec1ef"
    }  # fmt: skip
    assert old.fields() == {"replica": "old", "container_id": "9b801bfec1ef", "replaces": None}


def test_a_replica_that_replaces_nothing_is_named_plainly() -> None:
    first = Replica("shop-web-1", "new", NEW)  # a first deploy or a scale-up
    assert (first.text, first.succession) == ("shop-web-1", "")
    assert first.fields()["replica"] == "new"
    assert Replica("shop-web-2").text == "shop-web-2"
    assert Replica("shop-web-2").fields() == {
        "replica": None, "container_id": None, "replaces": None
    }  # fmt: skip


def test_the_newest_healthcheck_run_is_read_from_state() -> None:
    state = {"Health": {"Status": "unhealthy", "Log": [
        {"ExitCode": 0, "Output": "fine"}, {"ExitCode": 1, "Output": "db is down\n"},
    ]}}  # fmt: skip
    assert last_health_check(state) == (1, "db is down\n")
    assert last_health_check({"Health": {"Status": "starting", "Log": []}}) is None
    assert last_health_check({}) is None
    assert last_health_check({"Health": {"Log": [{"Output": 7}]}}) == (None, "7")


def test_the_reason_is_one_bounded_printable_line() -> None:
    assert health_reason((1, "db is down\n")) == "exit 1: db is down"
    assert health_reason((-1, "Health check exceeded timeout (1s)")) == (
        "exit -1: Health check exceeded timeout (1s)"
    )
    assert health_reason((1, "")) == "exit 1, no output"
    assert health_reason(None) == ""
    assert health_reason((2, "a\x1b[31mred\x07\r\n\tb  c")) == "exit 2: a[31mred b c"
    long = health_reason((1, "x" * 5000))
    assert long.endswith("…") and len(long) == len("exit 1: ") + HEALTH_OUTPUT_MAX
