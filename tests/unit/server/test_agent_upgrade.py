"""The rollout's decisions (:mod:`fleetdeck.server.agent_upgrade.service`), with a fake fleet.

The fleet is a fake at the boundary the upgrader reads: environment views (a node's status
and agent version, changed by the fake agent as a real host would over time) and each
node's agent client. No wall-clock waits: the upgrader polls with ``poll_s=0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.errors import ConflictError, NotFoundError
from fleetdeck.server.agent_upgrade.service import AgentUpgrader, Rollout
from fleetdeck.wire.fleet import Environment, Node
from fleetdeck.wire.install import DistFile, DistManifest
from fleetdeck.wire.upgrade import UpgradeEvent, UpgradeState

if TYPE_CHECKING:
    from collections.abc import Iterator

OLD, NEW = "0.2.0.dev0", "0.2.0.dev1"
WHEEL = DistFile(name=f"fleetdeck-{NEW}-py3-none-any.whl", sha256="0" * 64, size=1)


@dataclass
class FakeNode:
    """What a host does over the looks the upgrader takes after it was asked to move."""

    status: str = "up"
    version: str = OLD
    #: (status, version) the node shows at each look after the upgrade call, then the last.
    script: list[tuple[str, str]] = field(default_factory=list)
    refuse: Exception | None = None
    asked: int = 0

    def look(self) -> tuple[str, str]:
        """The node as the next look sees it (the script advances once asked)."""
        if self.asked and self.script:
            self.status, self.version = self.script.pop(0)
        return self.status, self.version


class FakeAgent:
    """A node's agent client."""

    def __init__(self, node: FakeNode) -> None:
        self.node = node

    async def upgrade(self, server: str | None, timeout_seconds: int) -> dict[str, Any]:
        """The agent's ``POST /v1/upgrade``."""
        if self.node.refuse is not None:
            raise self.node.refuse
        self.node.asked += 1
        return {"mode": "container"}


class FakeLinks:
    """The fleet's links."""

    def __init__(self, fleet: FakeFleet) -> None:
        self.fleet = fleet

    def get(self, environment: str, node: str) -> Any:
        """The node's link (only its agent is used)."""
        return type("Link", (), {"agent": FakeAgent(self.fleet.nodes[environment])})()


class FakeFleet:
    """One node per environment."""

    def __init__(self, nodes: dict[str, FakeNode], kinds: dict[str, str] | None = None) -> None:
        self.nodes = nodes
        self.kinds = kinds or {}
        self.links = FakeLinks(self)

    def require_environment(self, name: str) -> str:
        """The name, or NotFoundError."""
        if name not in self.nodes:
            raise NotFoundError(f"no environment {name!r}")
        return name

    def find_environment(self, name: str) -> str | None:
        """The name, or None."""
        return name if name in self.nodes else None

    def view(self, name: str) -> Environment:
        """The environment's view (one look at its node)."""
        status, version = self.nodes[name].look()
        node = Node(name="n1", status=status, agent_version=version, agent_protocol=2,
                    agent_url="https://10.0.0.1:9001")  # fmt: skip
        return Environment(name=name, kind=self.kinds.get(name, "agent"), status=status,
                           nodes=[node])  # fmt: skip

    def views(self) -> list[Environment]:
        """Every environment's view."""
        return [self.view(name) for name in self.nodes]


class FakeDist:
    """The server's agent distribution."""

    def __init__(self, manifest: DistManifest | None) -> None:
        self.manifest = manifest

    def require_manifest(self) -> DistManifest:
        """The manifest, or NotFoundError."""
        if self.manifest is None:
            raise NotFoundError("this server serves no agent distribution")
        return self.manifest


def _upgrader(fleet: FakeFleet, manifest: DistManifest | None = None) -> AgentUpgrader:
    dist = FakeDist(manifest or DistManifest(version=NEW, files=[WHEEL]))
    return AgentUpgrader(fleet, dist, poll_s=0, prepare_s=0)  # type: ignore[arg-type]


async def _run(
    upgrader: AgentUpgrader, *envs: str, timeout: int = 60
) -> tuple[list[UpgradeEvent], list[tuple[str, str]]]:
    _, nodes = upgrader.plan(list(envs))
    audits: list[tuple[str, str]] = []

    async def audit(where: str, result: str, detail: dict[str, object]) -> None:
        audits.append((where, result))

    events = [e async for e in upgrader.run(Rollout(list(envs), timeout, None), nodes, audit)]
    return events, audits


def _steps(events: list[UpgradeEvent]) -> Iterator[tuple[str, str]]:
    for event in events:
        if event.step is not None:
            yield event.step.environment, event.step.state.value


def test_the_plan_says_what_moves_and_why_the_others_do_not() -> None:
    fleet = FakeFleet(
        {
            "a": FakeNode(),
            "b": FakeNode(version=NEW),
            "c": FakeNode(status="unreachable"),
            "d": FakeNode(version="0.3.0"),
            "e": FakeNode(),
        },
        kinds={"e": "local"},
    )
    target, nodes = _upgrader(fleet).plan([])
    assert target == NEW
    assert {n.environment: n.state for n in nodes} == {
        "a": UpgradeState.move,
        "b": UpgradeState.current,
        "c": UpgradeState.skip,
        "d": UpgradeState.skip,
        "e": UpgradeState.skip,
    }
    why = {n.environment: n.message for n in nodes}
    assert "unreachable" in (why["c"] or "") and "newer" in (why["d"] or "")


def test_bad_input_is_refused_before_anything_moves() -> None:
    fleet = FakeFleet({"a": FakeNode()})
    with pytest.raises(NotFoundError, match="no environment 'zz'"):
        _upgrader(fleet).plan(["a", "zz"])
    none = AgentUpgrader(fleet, FakeDist(None), poll_s=0)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="serves no agent distribution"):
        none.plan([])
    assert fleet.nodes["a"].asked == 0


async def test_nodes_move_one_at_a_time_and_each_is_audited() -> None:
    fleet = FakeFleet({
        "a": FakeNode(script=[("up", OLD), ("unreachable", OLD), ("up", NEW)]),
        "b": FakeNode(script=[("unreachable", OLD), ("up", NEW)]),
    })  # fmt: skip
    events, audits = await _run(_upgrader(fleet))
    assert list(_steps(events)) == [
        ("a", "upgrading"), ("a", "moved"), ("b", "upgrading"), ("b", "moved"),
    ]  # fmt: skip
    assert events[-1] == UpgradeEvent(event="done", moved=2, undone=0, failed=0)
    assert audits == [("a/n1", "ok"), ("b/n1", "ok")]


async def test_an_undone_node_stops_the_rollout() -> None:
    """Gone and back with the old version: undone; the next node is not touched."""
    fleet = FakeFleet({
        "a": FakeNode(script=[("up", OLD), ("unreachable", OLD), ("up", OLD)]),
        "b": FakeNode(),
    })  # fmt: skip
    events, audits = await _run(_upgrader(fleet))
    assert list(_steps(events)) == [("a", "upgrading"), ("a", "undone"), ("b", "skip")]
    assert events[-1].undone == 1 and fleet.nodes["b"].asked == 0
    assert audits[0][0] == "a/n1" and audits[0][1].startswith("error: the new agent did not")


async def test_a_node_that_never_moves_fails_at_the_deadline() -> None:
    fleet = FakeFleet({"a": FakeNode()})  # up with the old version, never went away
    events, _ = await _run(_upgrader(fleet), timeout=0)
    last = events[-2].step
    assert last is not None and last.state == UpgradeState.failed
    assert "not moved in time" in (last.message or "")


async def test_an_agent_that_refuses_or_is_too_old_fails_its_node_only() -> None:
    fleet = FakeFleet({
        "a": FakeNode(refuse=NotFoundError("no route")),
        "b": FakeNode(refuse=ConflictError("an upgrade of this agent is running already")),
    })  # fmt: skip
    events, _ = await _run(_upgrader(fleet), "a")
    step = events[0].step
    assert step is not None and "too old to upgrade itself" in (step.message or "")
    events, _ = await _run(_upgrader(fleet), "b")
    step = events[0].step
    assert step is not None and step.message == "an upgrade of this agent is running already"


async def test_one_rollout_at_a_time() -> None:
    fleet = FakeFleet({"a": FakeNode(script=[("up", NEW)])})
    upgrader = _upgrader(fleet)
    _, nodes = upgrader.plan([])

    async def audit(where: str, result: str, detail: dict[str, object]) -> None:
        with pytest.raises(ConflictError, match="running already"):
            upgrader.begin()

    events = [e async for e in upgrader.run(Rollout([], 0, None), nodes, audit)]
    assert events[-1].moved == 1
    upgrader.begin()  # free again
