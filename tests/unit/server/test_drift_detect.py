"""Drift's comparisons (``drift.detect``), its Compose policy and backoff, on stated inputs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from fleetdeck import labels
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.drift.desired import DesiredService, DesiredStack, compose_policy
from fleetdeck.server.drift.detect import host_drift, live_fingerprint, swarm_drift
from fleetdeck.server.drift.watcher import (
    REVERT_BACKOFF_MAX_S,
    REVERT_BACKOFF_S,
    backoff_s,
    effective_policy,
)
from fleetdeck.server.stacks.plan import TargetKind
from fleetdeck.server.stacks.swarm.compare import with_fingerprint
from fleetdeck.server.store.models_drift import StackDriftState
from fleetdeck.wire.containers import EngineContainer

KEYS = {"image": "aaa", "environment.A": "bbb"}
HASH = "h1"
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def _desired(kind: TargetKind = TargetKind.host, replicas: int | None = 2) -> DesiredStack:
    web = DesiredService(replicas, "reg/web:1", HASH, KEYS)
    return DesiredStack("shop", "prod", kind, 3, {"web": web})


def _container(
    name: str, *, ours: bool = True, service: str = "web", **extra: Any
) -> EngineContainer:
    tags = {labels.COMPOSE_PROJECT: "shop", labels.COMPOSE_SERVICE: service}
    if ours:
        tags[labels.COMPOSE_CONFIG_HASH] = extra.pop("config_hash", HASH)
        tags[labels.FLEETDECK_CONFIG_KEYS] = json.dumps(extra.pop("keys", KEYS))
    return EngineContainer(
        id=name.ljust(64, "0"), name=name, image=extra.pop("image", "reg/web@sha256:ab"),
        state=extra.pop("state", "running"), created=CREATED, labels=tags,
    )  # fmt: skip


def _whats(drifts: list[Any], service: str = "web") -> list[str]:
    return [d.what for s in drifts if s.service == service for d in s.differences]


def test_host_in_sync_when_every_replica_carries_the_revisions_hash() -> None:
    drifts = host_drift(_desired(), [_container("shop-web-1"), _container("shop-web-2")])
    assert [s.to_json()["drifted"] for s in drifts] == [False]


def test_host_a_removed_replica_is_missing() -> None:
    drifts = host_drift(_desired(), [_container("shop-web-1")])
    assert _whats(drifts) == ["missing"]
    assert "1 of 2" in drifts[0].differences[0].message


def test_host_a_hand_made_container_with_the_labels_is_extra_and_its_image_differs() -> None:
    live = [_container("shop-web-1"), _container("shop-web-2"), _container("hand", ours=False)]
    live[2].image = "reg/other:2"
    drifts = host_drift(_desired(), live)
    assert _whats(drifts) == ["extra", "image"]
    assert all(d.container == "hand" for d in drifts[0].differences)


def test_host_a_changed_key_is_named() -> None:
    changed = {**KEYS, "environment.A": "zzz"}
    live = [_container("shop-web-1"), _container("shop-web-2", config_hash="h2", keys=changed)]
    drifts = host_drift(_desired(), live)
    assert _whats(drifts) == ["config"]
    assert "environment.A" in drifts[0].differences[0].message


def test_host_a_service_not_in_the_revision_and_retired_replicas() -> None:
    live = [_container("shop-web-1"), _container("shop-web-2"), _container("x", service="db")]
    retired = _container("placeholder")
    retired.name = f"{retired.id[:12]}_shop-web-1"  # a rolling update retiring it: not counted
    drifts = host_drift(_desired(), [*live, retired])
    assert _whats(drifts) == [] and _whats(drifts, "db") == ["extra_service"]


def _service(spec: dict[str, Any], version: int = 10) -> dict[str, Any]:
    return {"Spec": spec, "Version": {"Index": version}}


def _spec(env: list[str], replicas: int = 1) -> dict[str, Any]:
    spec = {
        "Name": "shop_web",
        "TaskTemplate": {"ContainerSpec": {"Image": "reg/web:1@sha256:ab", "Env": env}},
        "Mode": {"Replicated": {"Replicas": replicas}},
    }
    return with_fingerprint(spec)


def _stored(spec: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``spec`` as Swarm stores it: ``UpdateConfig`` defaults filled in (fingerprint kept)."""
    return {**spec, "UpdateConfig": update}


def _with_env(spec: dict[str, Any], env: list[str]) -> dict[str, Any]:
    container = {**spec["TaskTemplate"]["ContainerSpec"], "Env": env}
    return {**spec, "TaskTemplate": {**spec["TaskTemplate"], "ContainerSpec": container}}


def test_swarm_rewritten_keys_are_not_drift_and_an_env_add_is() -> None:
    desired = _desired(TargetKind.swarm, replicas=1)
    sent = _spec(["A=1"])
    stored = _stored(sent, {"Parallelism": 1, "Monitor": 5_000_000_000})
    drifts, kept = swarm_drift(desired, [_service(stored)], {})
    assert _whats(drifts) == [] and kept["web"]["version"] == 10
    handmade = _with_env(stored, ["HAND=1", "A=1"])
    handmade["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"] = 10_000_000_000  # CLI default
    drifts, kept = swarm_drift(desired, [_service(handmade, 11)], kept)
    assert [d.message for d in drifts[0].differences] == ["changed by hand: environment"]
    # A deploy ended (the spec moved): a hand-made environment is still drift, while a key
    # Swarm rewrites takes its new live value.
    again = _stored(handmade, {"Parallelism": 1, "Monitor": 6_000_000_000})
    drifts, kept = swarm_drift(desired, [_service(again, 12)], kept, deployed=True)
    assert [d.message for d in drifts[0].differences] == ["changed by hand: environment"]
    reverted = _stored(sent, {"Parallelism": 1, "Monitor": 6_000_000_000})
    drifts, _ = swarm_drift(desired, [_service(reverted, 13)], kept, deployed=True)
    assert _whats(drifts) == []


def test_swarm_a_hand_change_before_the_first_look_is_caught_on_sent_keys() -> None:
    desired = _desired(TargetKind.swarm, replicas=1)
    first = _with_env(_spec(["A=1"]), ["HAND=1", "A=1"])  # changed before the server looked
    drifts, kept = swarm_drift(desired, [_service(first)], {})
    assert _whats(drifts) == []  # cannot be told from Swarm's rewriting yet
    drifts, _ = swarm_drift(desired, [_service(_with_env(first, ["HAND=2", "A=1"]), 11)], kept)
    assert _whats(drifts) == ["config"]


def test_swarm_removed_extra_scaled_and_relabelled_services() -> None:
    desired = _desired(TargetKind.swarm, replicas=1)
    drifts, _ = swarm_drift(desired, [], {})
    assert _whats(drifts) == ["removed_service"]
    other = _spec(["A=1"])
    other["Name"] = "shop_extra"
    scaled = _spec(["A=1"], replicas=3)
    drifts, kept = swarm_drift(desired, [_service(scaled), _service(other)], {})
    assert _whats(drifts) == ["replicas"] and _whats(drifts, "extra") == ["extra_service"]
    # A new fingerprint label is fleetdeck's own deploy: a new baseline, no drift.
    drifts, _ = swarm_drift(desired, [_service(_spec(["A=2"]), 20)], kept)
    assert _whats(drifts) == []


def test_live_fingerprint_keeps_the_image_apart() -> None:
    prints = live_fingerprint(_spec(["A=1"]))
    assert prints["image"] == "reg/web:1@sha256:ab" and "environment" in prints


def test_compose_policy_later_file_wins_and_bad_values_are_named() -> None:
    files = [("a.yaml", "x-fleetdeck: {drift: revert}\nservices: {}\n"), ("b.yaml", "services: {}")]
    assert compose_policy(files) == "revert"
    assert compose_policy([*files, ("c.yaml", "x-fleetdeck: {drift: notify}")]) == "notify"
    assert compose_policy([("a.yaml", "services: {}")]) is None
    with pytest.raises(InvalidInputError, match=r"c\.yaml: x-fleetdeck\.drift"):
        compose_policy([("c.yaml", "x-fleetdeck: {drift: sometimes}")])


def test_policy_layers_and_backoff() -> None:
    compose = DesiredStack("shop", "prod", TargetKind.host, 1, {}, compose_policy="revert")
    assert effective_policy(None, None) == ("notify", "default")
    assert effective_policy(None, compose) == ("revert", "compose")
    assert effective_policy(StackDriftState(stack="shop", policy="notify"), compose) == (
        "notify",
        "api",
    )
    assert backoff_s(1) == REVERT_BACKOFF_S and backoff_s(2) == 2 * REVERT_BACKOFF_S
    assert backoff_s(50) == REVERT_BACKOFF_MAX_S
