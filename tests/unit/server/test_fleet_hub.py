"""The fleet's event hub: typed events, subscribe/unsubscribe, a failing subscriber isolated."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from fleetdeck.server.fleet.hub import (
    DeployFinished,
    EventHub,
    InventoryChanged,
    LinkAdded,
    LinkRemoved,
    MetricsBatch,
)
from fleetdeck.server.fleet.inventory import FleetInventory

if TYPE_CHECKING:
    from fleetdeck.server.fleet.hub import FleetEvent


def test_a_raising_subscriber_is_logged_and_the_others_still_get_the_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = EventHub()
    got: list[tuple[str, FleetEvent]] = []

    def broken(event: LinkAdded) -> None:
        raise RuntimeError("a bug in one part")

    hub.subscribe(LinkAdded, lambda e: got.append(("first", e)))
    hub.subscribe(LinkAdded, broken)
    hub.subscribe(LinkAdded, lambda e: got.append(("last", e)))
    event = LinkAdded("lab", "node1")
    with caplog.at_level(logging.ERROR, logger="fleetdeck.server.fleet.hub"):
        hub.publish(event)
        hub.publish(event)
    assert got == [("first", event), ("last", event)] * 2
    failures = [r for r in caplog.records if "a subscriber of LinkAdded failed" in r.message]
    assert len(failures) == 2 and failures[0].exc_info is not None


def test_unsubscribe_stops_delivery_to_that_subscriber_only() -> None:
    hub = EventHub()
    kept: list[LinkRemoved] = []
    dropped: list[LinkRemoved] = []
    hub.subscribe(LinkRemoved, kept.append)
    subscription = hub.subscribe(LinkRemoved, dropped.append)
    hub.publish(LinkRemoved("lab", "n1"))
    hub.unsubscribe(subscription)
    hub.unsubscribe(subscription)  # twice: nothing happens
    hub.publish(LinkRemoved("lab", "n2"))
    assert [e.node for e in kept] == ["n1", "n2"]
    assert [e.node for e in dropped] == ["n1"]
    assert hub.has_subscribers(LinkRemoved)


def test_a_subscriber_gets_only_its_own_kind_of_event() -> None:
    hub = EventHub()
    deploys: list[DeployFinished] = []
    subscription = hub.subscribe(DeployFinished, deploys.append)
    hub.publish(LinkAdded("lab", "n1"))
    hub.publish(DeployFinished("shop", "lab", ok=False, message="boom", revision=3))
    assert deploys == [DeployFinished("shop", "lab", False, "boom", 3)]
    assert not hub.has_subscribers(MetricsBatch)
    hub.unsubscribe(subscription)
    assert not hub.has_subscribers(DeployFinished)


def test_a_subscriber_that_unsubscribes_while_called_does_not_skip_the_next() -> None:
    hub = EventHub()
    got: list[str] = []

    def once(event: LinkAdded) -> None:
        got.append("once")
        hub.unsubscribe(subscription)

    subscription = hub.subscribe(LinkAdded, once)
    hub.subscribe(LinkAdded, lambda e: got.append("always"))
    hub.publish(LinkAdded("lab", "n1"))
    hub.publish(LinkAdded("lab", "n1"))
    assert got == ["once", "always", "always"]


def test_a_coroutine_function_is_refused() -> None:
    async def handler(event: LinkAdded) -> None:
        return None

    with pytest.raises(TypeError, match="plain function"):
        EventHub().subscribe(LinkAdded, handler)


def test_the_inventory_publishes_its_changes_and_metrics() -> None:
    inventory = FleetInventory()
    changes: list[InventoryChanged] = []
    batches: list[MetricsBatch] = []
    inventory.hub.subscribe(InventoryChanged, changes.append)
    inventory.apply("lab", "n1", {"type": "heartbeat", "rev": 1})  # pending → up: a change
    inventory.mark_unreachable("lab", "n1", "gone")
    inventory.forget("lab")
    assert [(c.environment, c.node) for c in changes] == [
        ("lab", "n1"),
        ("lab", "n1"),
        ("lab", None),
    ]
    assert [c.version for c in changes] == [1, 2, 3] == list(range(1, inventory.version + 1))
    inventory.hub.subscribe(MetricsBatch, batches.append)
    inventory.apply("lab", "n1", {"type": "metrics", "rev": 1, "time": "2026-01-01T00:00:00Z"})
    assert [(b.environment, b.node, b.message["time"]) for b in batches] == [
        ("lab", "n1", "2026-01-01T00:00:00Z")
    ]
