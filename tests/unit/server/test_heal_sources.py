"""Heal policy from Compose files (``x-fleetdeck.autoheal``) and Swarm task churn."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.heal.churn import ChurnTracker
from fleetdeck.server.heal.compose_policy import compose_layers
from fleetdeck.wire.containers import EngineContainer

COMPOSE = """
x-fleetdeck:
  autoheal: {max_restarts: 3}
services:
  web:
    image: web
    x-fleetdeck:
      autoheal: {backoff: 30s}
  db:
    image: db
    x-fleetdeck: {autoheal: false}
  cache:
    image: cache
"""


def test_compose_layers_come_from_the_top_level_and_each_service() -> None:
    layers = compose_layers("shop", [("compose.yaml", COMPOSE)])
    assert layers == {
        "shop": {"max_restarts": 3, "enabled": True},
        "shop/web": {"backoff": 30.0, "enabled": True},
        "shop/db": {"enabled": False},
    }


def test_a_later_file_overrides_fields_of_an_earlier_one() -> None:
    override = (
        "services:\n  web:\n    x-fleetdeck:\n      autoheal: {backoff: 1m, enabled: false}\n"
    )
    layers = compose_layers(
        "shop", [("compose.yaml", COMPOSE), ("compose.override.yaml", override)]
    )
    assert layers["shop/web"] == {"backoff": 60.0, "enabled": False}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x-fleetdeck: {autoheal: 3}\nservices: {}\n", "mapping or a boolean"),
        ("x-fleetdeck: [1]\nservices: {}\n", "x-fleetdeck must be a mapping"),
        ("services:\n  web:\n    x-fleetdeck: {autoheal: {window: never}}\n", "services.web"),
    ],
)
def test_bad_compose_policies_name_the_file_and_the_place(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        compose_layers("shop", [("compose.yaml", text)])


def _task(cid: str, slot: int, *, health: str | None = "healthy", state: str = "running",
          exit_code: int | None = None) -> EngineContainer:  # fmt: skip
    return EngineContainer(
        id=cid, name=f"shop_web.{slot}.{cid}", image="web", state=state, health=health,
        exit_code=exit_code, created=datetime(2026, 12, 4, tzinfo=UTC),
        labels={"com.docker.swarm.task.id": cid, "com.docker.swarm.service.name": "shop_web",
                "com.docker.swarm.task.name": f"shop_web.{slot}.{cid}",
                "com.docker.stack.namespace": "shop"},
    )  # fmt: skip


def test_replacements_of_failed_tasks_count_and_make_a_crash_loop_once() -> None:
    tracker = ChurnTracker(window=600, threshold=2)
    assert tracker.observe("swarm", [_task("a", 1)], 1000.0) == []
    tracker.observe("swarm", [_task("a", 1, health="unhealthy")], 1001.0)
    assert tracker.observe("swarm", [_task("b", 1, health="starting")], 1002.0) == []
    tracker.observe("swarm", [_task("b", 1, state="exited", exit_code=1, health=None)], 1003.0)
    changes = tracker.observe("swarm", [_task("c", 1)], 1004.0)
    assert [(c.churn.service, c.crash_looping) for c in changes] == [("shop_web", True)]
    assert tracker.services[("swarm", "shop_web")].stack == "shop"
    assert tracker.observe("swarm", [_task("c", 1)], 1005.0) == []  # said once
    changes = tracker.observe("swarm", [_task("c", 1)], 1700.0)
    assert [c.crash_looping for c in changes] == [False]


def test_a_rolling_update_is_no_churn() -> None:
    tracker = ChurnTracker(window=600, threshold=1)
    tracker.observe("swarm", [_task("a", 1), _task("x", 2)], 1000.0)
    tracker.observe("swarm", [_task("a", 1, state="exited", exit_code=143, health=None)], 1001.0)
    assert tracker.observe("swarm", [_task("b", 1), _task("y", 2)], 1002.0) == []
    assert tracker.services == {}
