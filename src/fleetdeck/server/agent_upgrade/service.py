"""The rollout: plan which agents move to the server's build, then move them one at a time.

The server's agent build is what it serves at ``/install/`` (``fleetdeck server
agent-dist``): the wheelhouse's version, and the image tarball for container agents. For each
node to move, in environment then node order, the server asks the agent to start
(``POST /v1/upgrade``); the host does the rest on its own (:mod:`fleetdeck.agent.upgrade`) and
puts the old agent back if the new one does not come back within ``timeout_seconds``. The
server watches the node's link: the node is ``moved`` once it is up with the new version,
``undone`` once it went away and is up again with the old one, ``failed`` when neither
happened in time. The rollout stops at the first node that did not move (a broken build is
not spread further); the nodes after it are reported as skipped.

Because the host decides, a server killed half-way changes nothing: the host it was moving
finishes (new agent, or old one back) by itself. One rollout runs at a time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fleetdeck.errors import ConflictError, FleetdeckError, NotFoundError
from fleetdeck.protocol import version_key
from fleetdeck.wire.upgrade import UpgradeEvent, UpgradeNode, UpgradeState

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.install.dist import AgentDist
    from fleetdeck.wire.fleet import Node

#: Seconds a host gets, besides the new agent's timeout, to fetch and install the build and
#: to start the old agent again after an undo.
PREPARE_S = 300.0
#: Seconds between looks at a moving node.
POLL_S = 0.5
#: Environment kinds whose agent the server runs itself: they move with the server.
SERVER_RUN_KINDS = frozenset({"local"})


@dataclass(frozen=True)
class Rollout:
    """What one request asks for."""

    environments: Sequence[str]
    timeout_seconds: int
    server_url: str | None


def _decide(kind: str, node: Node, target: str) -> tuple[UpgradeState, str | None]:
    if kind in SERVER_RUN_KINDS:
        return UpgradeState.skip, "the server runs this agent itself: it moves with the server"
    if node.agent_version == target:
        return UpgradeState.current, None
    if node.status != "up":
        return UpgradeState.skip, f"the node is {node.status}: upgrade it once it is back"
    have, want = version_key(node.agent_version or ""), version_key(target)
    if have is not None and want is not None and have > want:
        return UpgradeState.skip, "its agent is newer than the server's build"
    return UpgradeState.move, None


class AgentUpgrader:
    """Plans and runs rollouts of the server's agent build.

    Args:
        fleet: The environments, their nodes' live views and their links.
        dist: The server's agent distribution (its manifest's version is the target).
        poll_s: Seconds between looks at a moving node (tests make it short).
        prepare_s: Seconds a host gets besides the timeout (:data:`PREPARE_S`).
    """

    def __init__(
        self,
        fleet: Fleet,
        dist: AgentDist,
        *,
        poll_s: float = POLL_S,
        prepare_s: float = PREPARE_S,
    ) -> None:
        self.fleet = fleet
        self.dist = dist
        self.poll_s = poll_s
        self.prepare_s = prepare_s
        self._lock = asyncio.Lock()

    def plan(self, environments: Sequence[str]) -> tuple[str, list[UpgradeNode]]:
        """(the target version, every node of ``environments`` and what would happen to it).

        Raises:
            NotFoundError: an unknown environment, or no agent distribution on the server.
        """
        target = self.dist.require_manifest().version
        names = list(dict.fromkeys(environments))
        for name in names:
            self.fleet.require_environment(name)
        views = [v for v in self.fleet.views() if not names or v.name in names]
        nodes = []
        for env in sorted(views, key=lambda v: v.name):
            for node in sorted(env.nodes, key=lambda n: n.name):
                state, why = _decide(env.kind, node, target)
                nodes.append(
                    UpgradeNode(
                        environment=env.name, node=node.name, from_version=node.agent_version,
                        to_version=target, state=state, message=why,
                    )
                )  # fmt: skip
        return target, nodes

    def begin(self) -> None:
        """Claim the one rollout slot (ConflictError when one is running)."""
        if self._lock.locked():
            raise ConflictError("an agent upgrade is running already: wait for it to finish")

    def _node(self, environment: str, node: str) -> Node | None:
        env = self.fleet.find_environment(environment)
        if env is None:
            return None
        return next((n for n in self.fleet.view(env).nodes if n.name == node), None)

    async def _watch(self, planned: UpgradeNode, timeout_s: float) -> UpgradeNode:
        deadline = time.monotonic() + timeout_s + self.prepare_s
        went_away = False
        while True:
            node = self._node(planned.environment, planned.node)
            if node is None:
                return planned.model_copy(
                    update={"state": UpgradeState.failed, "message": "the node was removed"}
                )
            up = node.status == "up"
            went_away = went_away or not up
            if up and node.agent_version == planned.to_version:
                return planned.model_copy(update={"state": UpgradeState.moved, "message": None})
            if up and went_away and node.agent_version == planned.from_version:
                return planned.model_copy(
                    update={
                        "state": UpgradeState.undone,
                        "message": "the new agent did not come back: the old one runs again",
                    }
                )
            if time.monotonic() > deadline:
                seen = node.agent_version if up else f"no agent answers ({node.status})"
                return planned.model_copy(
                    update={"state": UpgradeState.failed, "message": f"not moved in time: {seen}"}
                )
            await asyncio.sleep(self.poll_s)

    async def _move(self, planned: UpgradeNode, rollout: Rollout) -> AsyncIterator[UpgradeNode]:
        try:
            link = self.fleet.links.get(planned.environment, planned.node)
            answer = await link.agent.upgrade(rollout.server_url, rollout.timeout_seconds)
        except NotFoundError:
            why = "its agent is too old to upgrade itself: re-run its install line"
            yield planned.model_copy(update={"state": UpgradeState.failed, "message": why})
            return
        except FleetdeckError as exc:
            yield planned.model_copy(update={"state": UpgradeState.failed, "message": exc.message})
            return
        mode = str(answer.get("mode") or "") or None
        step = planned.model_copy(update={"state": UpgradeState.upgrading, "mode": mode})
        yield step
        yield await self._watch(step, rollout.timeout_seconds)

    async def run(
        self,
        rollout: Rollout,
        nodes: list[UpgradeNode],
        audit: Callable[[str, str, dict[str, object]], Awaitable[None]],
    ) -> AsyncIterator[UpgradeEvent]:
        """Move the planned nodes one at a time; ``step`` events, then ``done``."""
        counts = {UpgradeState.moved: 0, UpgradeState.undone: 0, UpgradeState.failed: 0}
        stopped: str | None = None
        async with self._lock:
            for planned in nodes:
                if planned.state != UpgradeState.move:
                    continue
                if stopped is not None:
                    yield UpgradeEvent(
                        event="step",
                        step=planned.model_copy(
                            update={"state": UpgradeState.skip, "message": stopped}
                        ),
                    )
                    continue
                last = planned
                async for step in self._move(planned, rollout):
                    last = step
                    yield UpgradeEvent(event="step", step=step)
                if last.state in counts:
                    counts[last.state] += 1
                where = f"{planned.environment}/{planned.node}"
                result = "ok" if last.state == UpgradeState.moved else f"error: {last.message}"
                await audit(where, result, {
                    "from": planned.from_version, "to": planned.to_version,
                    "mode": last.mode, "state": last.state.value,
                })  # fmt: skip
                if last.state != UpgradeState.moved:
                    stopped = f"the rollout stopped after {where} was {last.state.value}"
        yield UpgradeEvent(
            event="done",
            moved=counts[UpgradeState.moved],
            undone=counts[UpgradeState.undone],
            failed=counts[UpgradeState.failed],
        )
