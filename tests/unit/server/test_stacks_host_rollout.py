"""The rollout order on a plain host, against a fake node (the agent boundary).

What matters: a new replica gets the service alias only once healthy, an old one loses it
before it stops, and a failed gate puts the old replicas back (started, with their alias).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.compose import load_project
from fleetdeck.server.stacks.host import rollout as host_rollout
from fleetdeck.server.stacks.host.converge import ServiceConvergence, update_policy
from fleetdeck.server.stacks.host.node import ObservedContainer
from fleetdeck.server.stacks.host.plan import ImageChoice
from fleetdeck.server.stacks.host.rollout import HealthGateError, ReplicaContext, Rollout
from fleetdeck.server.stacks.host.spec import L_HASH, L_NUMBER, L_SERVICE, build_spec
from fleetdeck.server.stacks.plan import ProgressEvent, Strategy

if TYPE_CHECKING:
    from pathlib import Path

NET = "shop_default"


class _FakeNode:
    """Containers in memory; records every call in order."""

    where = "env/node"

    def __init__(self, healthy: bool) -> None:
        self.healthy = healthy
        self.calls: list[tuple[str, str]] = []
        self.containers: dict[str, dict[str, Any]] = {}
        self._next = 0

    def add(self, cid: str, number: int, config_hash: str, aliases: list[str]) -> ObservedContainer:
        self.containers[cid] = {"number": number, "hash": config_hash, "state": "running",
                                "aliases": aliases, "new": False,
                                "name": f"shop-web-{number}"}  # fmt: skip
        return self._observed(cid)

    def _observed(self, cid: str) -> ObservedContainer:
        c = self.containers[cid]
        health = ("healthy" if self.healthy else "unhealthy") if c["new"] else "healthy"
        log = [{"ExitCode": 0, "Output": "ok"}]
        if health == "unhealthy":  # what Docker keeps of the last runs: the newest is last
            log.append({"ExitCode": 3, "Output": "cannot reach db:5432\nretrying\n"})
        return ObservedContainer.from_inspect({
            "Id": cid, "Name": f"/{c['name']}", "Image": "sha256:img",
            "State": {"Status": c["state"], "Health": {"Status": health, "Log": log}},
            "Config": {"Image": "img", "Healthcheck": {"Test": ["CMD", "true"]},
                       "Labels": {L_SERVICE: "web", L_NUMBER: str(c["number"]), L_HASH: c["hash"]}},
            "NetworkSettings": {"Networks": {NET: {"Aliases": c["aliases"]}}},
        })  # fmt: skip

    async def create_container(self, name: str, config: dict[str, Any], networks: Any) -> str:
        self._next += 1
        cid = f"new{self._next}"
        aliases = config["NetworkingConfig"]["EndpointsConfig"][NET]["Aliases"]
        number = int(name.rsplit("-", 1)[1])
        assert name not in self.names(), f"{name} is taken"
        self.containers[cid] = {"number": number, "hash": "h2", "state": "created",
                                "aliases": list(aliases), "new": True, "name": name}  # fmt: skip
        self.calls.append(("create", cid))
        return cid

    async def action(self, cid: str, action: str, timeout: int | None = None) -> None:
        self.containers[cid]["state"] = "running" if action == "start" else "exited"
        self.calls.append((action, cid))

    async def inspect(self, cid: str) -> ObservedContainer | None:
        return self._observed(cid) if cid in self.containers else None

    async def reconnect(self, network: str, cid: str, aliases: list[str]) -> None:
        self.containers[cid]["aliases"] = list(aliases)
        self.calls.append(("alias+" if "web" in aliases else "alias-", cid))

    async def remove(self, cid: str) -> None:
        self.containers.pop(cid, None)
        self.calls.append(("remove", cid))

    async def rename(self, cid: str, name: str) -> None:
        assert name not in self.names(), f"{name} is taken"
        self.containers[cid]["name"] = name
        self.calls.append(("rename", cid))

    def names(self) -> list[str]:
        return [c["name"] for c in self.containers.values()]


async def _roll(
    tmp_path: Path,
    healthy: bool,
    failure_action: str = "rollback",
    old_replicas: int = 2,
    node: _FakeNode | None = None,
    strategy: Strategy = Strategy.start_first,
    events: list[ProgressEvent] | None = None,
) -> tuple[_FakeNode, Rollout, HealthGateError | None, ServiceConvergence]:
    path = tmp_path / "compose.yaml"
    replicas = max(old_replicas, 2)
    path.write_text(
        f"services:\n  web:\n    image: r/web:2\n    deploy: {{replicas: {replicas}}}\n"
    )
    project = load_project([path], project_name="shop", env={})
    spec = build_spec(project, "web", secret_versions={}, hash_key=b"k")
    if node is None:
        node = _FakeNode(healthy)
        old = [node.add(f"old{n}", n, "h1", ["web"]) for n in range(1, old_replicas + 1)]
    else:
        old = [node._observed(cid) for cid in node.containers]

    async def record(event: ProgressEvent) -> None:
        if events is not None:
            events.append(event)

    rollout = Rollout(node, ReplicaContext("shop", 2, "/w", []), record)  # type: ignore[arg-type]
    image = ImageChoice("r/web@sha256:b", "r/web@sha256:b", "sha256:new")
    policy = update_policy(spec, None, strategy)
    policy = dataclasses.replace(policy, failure_action=failure_action)
    convergence = ServiceConvergence(rollout, spec, image, policy)
    error: HealthGateError | None = None
    try:
        await convergence.run(old)
    except HealthGateError as exc:
        error = exc
    return node, rollout, error, convergence


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_rollout, "DRAIN_S", 0.0)
    monkeypatch.setattr(host_rollout, "POLL_S", 0.0)


async def test_new_replicas_get_the_name_when_healthy_and_old_ones_lose_it_before_stopping(
    tmp_path: Path,
) -> None:
    node, rollout, error, _ = await _roll(tmp_path, healthy=True)
    assert error is None
    await rollout.commit()
    calls = node.calls
    for new, old in (("new1", "old1"), ("new2", "old2")):
        assert calls.index(("create", new)) < calls.index(("alias+", new))
        assert calls.index(("alias+", new)) < calls.index(("alias-", old))
        assert calls.index(("alias-", old)) < calls.index(("stop", old))
    assert sorted(node.containers) == ["new1", "new2"]
    assert all(c["aliases"] == ["web"] for c in node.containers.values())


async def test_a_failed_gate_restores_the_old_replicas(tmp_path: Path) -> None:
    node, rollout, error, _ = await _roll(tmp_path, healthy=False)
    assert isinstance(error, HealthGateError)
    # Why, in the healthcheck's own words: its last run's exit code and output, one line.
    assert error.message == (
        "new shop-web-3 failed its healthcheck (exit 3: cannot reach db:5432 retrying)"
    )
    assert (error.service, error.failure_action) == ("web", "rollback")
    await rollout.undo({"web": build_spec(
        load_project([tmp_path / "compose.yaml"], project_name="shop", env={}), "web",
        secret_versions={}, hash_key=b"k")})  # fmt: skip
    assert sorted(node.containers) == ["old1", "old2"]
    assert all(c["state"] == "running" and c["aliases"] == ["web"]
               for c in node.containers.values())  # fmt: skip


async def test_an_undo_renames_the_retired_replicas_back(tmp_path: Path) -> None:
    node, rollout, error, _ = await _roll(tmp_path, healthy=False, strategy=Strategy.stop_first)
    assert error is not None
    # Stop-first: old1 was retired (renamed old1_shop-web-1) and new1 took number 1.
    assert node.containers["old1"]["name"] == "old1_shop-web-1"
    assert node.containers["new1"]["name"] == "shop-web-1"
    await rollout.undo({"web": build_spec(
        load_project([tmp_path / "compose.yaml"], project_name="shop", env={}), "web",
        secret_versions={}, hash_key=b"k")})  # fmt: skip
    assert sorted(node.names()) == ["shop-web-1", "shop-web-2"]  # the fake refuses taken names
    assert all(c["state"] == "running" for c in node.containers.values())


async def test_replicas_take_the_lowest_free_number_across_rolling_updates(
    tmp_path: Path,
) -> None:
    node, rollout, error, _ = await _roll(tmp_path, healthy=True, old_replicas=3)
    assert error is None
    # Start-first: the first new replica is 4 while 1-3 serve; then each takes the number
    # the old replica it replaced gave up by being renamed.
    assert sorted(node.names())[:3] == ["old1_shop-web-1", "old2_shop-web-2", "old3_shop-web-3"]
    await rollout.commit()
    assert sorted(node.names()) == ["shop-web-1", "shop-web-2", "shop-web-4"]
    for container in node.containers.values():
        container["hash"], container["new"] = "h1", False  # the next update replaces them
    _, rollout, error, _ = await _roll(tmp_path, healthy=True, old_replicas=3, node=node)
    assert error is None
    await rollout.commit()
    numbers = sorted(c["number"] for c in node.containers.values())
    assert len(numbers) == 3 and set(numbers) <= {1, 2, 3, 4}, numbers


async def test_pause_stops_where_it_is_and_undoes_nothing(tmp_path: Path) -> None:
    node, rollout, error, _ = await _roll(tmp_path, healthy=False, failure_action="pause")
    assert error is not None and (error.service, error.failure_action) == ("web", "pause")
    await rollout.settle()
    # Start-first: the failed replica ran beside the old ones, which still serve; no second
    # replica was tried, and the failed one stays (for a person to look at), without the name.
    assert sorted(node.containers) == ["new1", "old1", "old2"]
    assert node.containers["new1"]["state"] == "running"
    assert "web" not in node.containers["new1"]["aliases"]
    assert all(node.containers[c]["aliases"] == ["web"] for c in ("old1", "old2"))


async def test_continue_replaces_every_replica_and_the_failed_ones_take_no_traffic(
    tmp_path: Path,
) -> None:
    node, rollout, error, convergence = await _roll(
        tmp_path, healthy=False, failure_action="continue"
    )
    assert error is None
    assert len(convergence.failures) == 2
    assert all("failed its healthcheck" in m for m in convergence.failures)
    await rollout.commit()
    assert sorted(node.containers) == ["new1", "new2"]  # the old replicas were retired
    assert all(c["state"] == "running" and "web" not in c["aliases"]
               for c in node.containers.values())  # fmt: skip


async def test_continue_on_a_new_service_takes_the_failed_replicas_out_of_the_name(
    tmp_path: Path,
) -> None:
    node, _, error, convergence = await _roll(
        tmp_path, healthy=False, failure_action="continue", old_replicas=0
    )
    assert error is None and len(convergence.failures) == 2
    # Created with the name (a first deploy), then taken out of it once they failed.
    assert ("alias-", "new1") in node.calls and ("alias-", "new2") in node.calls
    assert all("web" not in c["aliases"] for c in node.containers.values())


async def test_progress_tells_a_new_replica_from_the_old_one_of_the_same_name(
    tmp_path: Path,
) -> None:
    events: list[ProgressEvent] = []
    node, rollout, error, _ = await _roll(
        tmp_path, healthy=True, strategy=Strategy.stop_first, events=events
    )
    assert error is None
    await rollout.commit()
    # Stop-first: old1 gave up shop-web-1 and new1 took it: the same name, two containers.
    about = [e for e in events if e.container == "shop-web-1" or e.container_id == "old1"]
    said = [(e.step, e.status, e.message) for e in about]
    assert ("create", "started", "creating new shop-web-1 (replaces old1)") in said
    assert ("start", "ok", "started new shop-web-1 (replaces old1)") in said
    assert ("health", "ok", "new shop-web-1 is healthy") in said
    assert ("stop", "ok", "stopped old shop-web-1 (old1)") in said
    assert ("remove", "ok", "removed old shop-web-1 (old1)") in said
    for event in about:  # the keys say it too, for scripts and the UI
        if event.replica == "old":
            assert (event.container_id, event.replaces) == ("old1", None), event
        else:
            assert event.replica == "new" and event.replaces == "old1", event
    started = next(e for e in about if e.step == "start")
    assert started.container_id == "new1"
    assert {"replica", "container_id", "replaces"} <= set(started.to_json())


async def test_an_undo_says_which_replicas_it_removed_and_restarted(tmp_path: Path) -> None:
    events: list[ProgressEvent] = []
    node, rollout, error, _ = await _roll(
        tmp_path, healthy=False, strategy=Strategy.stop_first, events=events
    )
    assert error is not None
    assert error.message.startswith("new shop-web-1 failed its healthcheck (exit 3: ")
    await rollout.undo({"web": build_spec(
        load_project([tmp_path / "compose.yaml"], project_name="shop", env={}), "web",
        secret_versions={}, hash_key=b"k")})  # fmt: skip
    said = [e.message for e in events if e.step == "rollback"]
    assert "removed new shop-web-1 (new1)" in said
    assert "restarted old shop-web-1 (old1)" in said
