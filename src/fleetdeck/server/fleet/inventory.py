"""The fleet-wide container inventory, held in memory and fed by the agents' streams.

Every page and every ``fleetdeck ps`` is served from here: nothing is fetched from an engine
per request (Portainer refetches everything per page). Each node's part is replaced whole by
the snapshot an agent sends when a stream (re)connects, then kept current by its deltas, so
a reconnect can neither lose nor duplicate a container.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from fleetdeck.clock import SYSTEM
from fleetdeck.container_status import status_text
from fleetdeck.errors import ConflictError, InvalidInputError, NotFoundError
from fleetdeck.protocol import agent_protocol
from fleetdeck.server.fleet.hub import AgentReported, EventHub, InventoryChanged, MetricsBatch
from fleetdeck.wire.containers import Container, EngineContainer
from fleetdeck.wire.streams import (
    DeleteMessage,
    HeartbeatMessage,
    InfoMessage,
    InventoryMessage,
    MetricsMessage,
    SnapshotMessage,
    UpsertMessage,
)

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.wire.fleet import AgentInfo

#: Validates one inventory-stream line (after ``json.loads``).
INVENTORY_MESSAGE: TypeAdapter[InventoryMessage] = TypeAdapter(InventoryMessage)

SORT_KEYS = ("name", "environment", "node", "state", "image", "created", "health")
#: Docker's container states (``State.Status``): the values a ``state`` filter can match.
STATES = ("running", "exited", "restarting", "paused", "created", "dead", "removing")
#: Healthcheck states, and ``none`` for a container without a healthcheck.
HEALTHS = ("healthy", "unhealthy", "starting", "none")
MAX_LIMIT = 5000


class NodeStatus(StrEnum):
    """Where a node stands, as the server sees it."""

    pending = "pending"  # enrolled, never connected yet
    up = "up"
    unreachable = "unreachable"
    engine_down = "engine_down"
    #: The agent speaks a protocol this server no longer works with: refused, not followed.
    incompatible = "incompatible"


@dataclass
class NodeState:
    """What the server knows of one node right now."""

    environment: str
    node: str
    status: NodeStatus = NodeStatus.pending
    last_seen: datetime | None = None
    info: AgentInfo | None = None
    containers: dict[str, EngineContainer] = field(default_factory=dict)
    rev: int = 0
    error: str | None = None


@dataclass(frozen=True)
class ContainerQuery:
    """Filters, order and page of a container listing."""

    environment: str | None = None
    node: str | None = None
    state: str | None = None
    labels: tuple[str, ...] = ()
    stack: str | None = None
    name: str | None = None
    health: str | None = None
    sort: str = "name"
    descending: bool = False
    limit: int = 500
    offset: int = 0

    def validate(self) -> ContainerQuery:
        """Raise InvalidInputError for a query that cannot be answered."""
        if self.sort not in SORT_KEYS:
            raise InvalidInputError(
                f"cannot sort by {self.sort!r}", hint=f"sort by one of: {', '.join(SORT_KEYS)}"
            )
        # A filter no container can ever match is a mistake, not an empty fleet.
        if self.state and self.state not in STATES:
            raise InvalidInputError(
                f"unknown state {self.state!r}", hint=f"use one of: {', '.join(STATES)}"
            )
        if self.health and self.health not in HEALTHS:
            raise InvalidInputError(
                f"unknown health {self.health!r}", hint=f"use one of: {', '.join(HEALTHS)}"
            )
        if not 0 < self.limit <= MAX_LIMIT:
            raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}")
        if self.offset < 0:
            raise InvalidInputError("offset must not be negative")
        for label in self.labels:
            if not label or label.startswith("="):
                raise InvalidInputError(f"bad label filter {label!r}", hint="use KEY or KEY=VALUE")
        return self

    def matches(self, c: Container) -> bool:
        """Whether ``c`` passes every filter."""
        if self.environment and c.environment != self.environment:
            return False
        if self.node and c.node != self.node:
            return False
        if self.state and c.state != self.state:
            return False
        if self.stack and c.stack != self.stack:
            return False
        if self.health and (c.health or "none") != self.health:
            return False
        if self.name and self.name.lower() not in c.name.lower():
            return False
        for label in self.labels:
            key, sep, value = label.partition("=")
            if key not in c.labels or (sep and c.labels[key] != value):
                return False
        return True


def _sort_key(sort: str) -> Any:
    def key(c: Container) -> tuple[Any, ...]:
        primary: Any = getattr(c, sort)
        if primary is None:
            primary = ""
        return (primary, c.environment, c.node, c.name)

    return key


class FleetInventory:
    """All nodes' states and containers, with change notification for live views.

    Args:
        clock: The present that served status texts ("Up 5 minutes") are worked out at.
        hub: Where it publishes :class:`~fleetdeck.server.fleet.hub.MetricsBatch` and
            :class:`~fleetdeck.server.fleet.hub.InventoryChanged` (its own when not given).
    """

    def __init__(self, clock: Clock = SYSTEM, hub: EventHub | None = None) -> None:
        self.clock = clock
        self.hub = hub if hub is not None else EventHub()
        self._nodes: dict[tuple[str, str], NodeState] = {}
        self._waiters: set[asyncio.Future[int]] = set()
        #: Bumped on every change that a view would show (not on heartbeats).
        self.version = 0

    # ------------------------------------------------------------ node bookkeeping
    def node(self, environment: str, node: str) -> NodeState:
        """The state of one node, created (pending) on first use."""
        key = (environment, node)
        if key not in self._nodes:
            self._nodes[key] = NodeState(environment, node)
        return self._nodes[key]

    def find_node(self, environment: str, node: str) -> NodeState | None:
        """The state of one node if the server tracks it."""
        return self._nodes.get((environment, node))

    def nodes(self, environment: str | None = None) -> list[NodeState]:
        """Every tracked node, optionally of one environment."""
        return [s for (env, _), s in self._nodes.items() if environment in (None, env)]

    def forget(self, environment: str, node: str | None = None) -> None:
        """Drop a node (or a whole environment) and its containers."""
        for key in list(self._nodes):
            if key[0] == environment and node in (None, key[1]):
                del self._nodes[key]
        self._bump(environment, node)

    # ------------------------------------------------------------ stream application
    def apply(
        self, environment: str, node: str, message: InventoryMessage | dict[str, Any]
    ) -> None:
        """Apply one inventory-stream message from a node's agent.

        A dict is validated first (:data:`~fleetdeck.wire.streams.InventoryMessage`): a message of
        the wrong shape raises ``ValidationError`` (a ValueError) before anything changes.
        """
        if isinstance(message, dict):
            message = INVENTORY_MESSAGE.validate_python(message)
        state = self.node(environment, node)
        state.last_seen = datetime.now(UTC)
        if isinstance(message, MetricsMessage):
            # Replayed samples carry the rev they were taken at: not the node's current one.
            if self.hub.has_subscribers(MetricsBatch):
                self.hub.publish(MetricsBatch(environment, node, message.model_dump(mode="json")))
            return
        state.rev = message.rev
        if isinstance(message, SnapshotMessage | InfoMessage):
            self._report_agent(state, message.info)
        if isinstance(message, SnapshotMessage):
            state.info = message.info
            state.containers = {c.id: c for c in message.containers}
        elif isinstance(message, UpsertMessage):
            state.containers[message.container.id] = message.container
        elif isinstance(message, DeleteMessage):
            state.containers.pop(message.id, None)
        elif isinstance(message, InfoMessage):
            state.info = message.info
        self._set_status_from_info(state)
        if not isinstance(message, HeartbeatMessage):
            self._bump(environment, node)

    def _report_agent(self, state: NodeState, info: AgentInfo) -> None:
        """Publish :class:`AgentReported` when the agent's version, protocol or commit changed."""
        new = (info.agent_version, agent_protocol(info.agent_protocol), info.agent_commit)
        old = state.info
        if old is None or new != (
            old.agent_version, agent_protocol(old.agent_protocol), old.agent_commit
        ):  # fmt: skip
            self.hub.publish(AgentReported(state.environment, state.node, *new))

    def _set_status_from_info(self, state: NodeState) -> None:
        engine_up = state.info is None or state.info.engine_state == "up"
        status = NodeStatus.up if engine_up else NodeStatus.engine_down
        if state.status != status:
            state.status = status
            state.error = None
            self._bump(state.environment, state.node)

    def mark_unreachable(self, environment: str, node: str, error: str) -> None:
        """The node's agent stopped answering: keep its last inventory, flag it."""
        state = self.node(environment, node)
        state.error = error
        if state.status != NodeStatus.unreachable:
            state.status = NodeStatus.unreachable
            self._bump(environment, node)

    def mark_incompatible(self, environment: str, node: str, info: AgentInfo, error: str) -> None:
        """The node's agent is too old to be followed: drop its inventory, say why."""
        state = self.node(environment, node)
        self._report_agent(state, info)
        state.info, state.error, state.containers = info, error, {}
        state.last_seen = datetime.now(UTC)
        if state.status != NodeStatus.incompatible:
            state.status = NodeStatus.incompatible
        self._bump(environment, node)

    # ------------------------------------------------------------ queries
    def containers(self, query: ContainerQuery) -> tuple[list[Container], int]:
        """One page of the containers that match ``query``, and how many match in all."""
        query.validate()
        matched = [c for c in self._all_containers() if query.matches(c)]
        matched.sort(key=_sort_key(query.sort), reverse=query.descending)
        return matched[query.offset : query.offset + query.limit], len(matched)

    def _all_containers(self) -> list[Container]:
        out: list[Container] = []
        now = self.clock.now()
        for state in self._nodes.values():
            for c in state.containers.values():
                # The engine's text was true when it was read; say what is true now.
                fields = c.model_dump() | {"status": status_text(c, now)}
                out.append(Container(**fields, environment=state.environment, node=state.node))
        return out

    def resolve(self, ref: str, environments: set[str] | None = None) -> Container:
        """Find one container by ``ENV/NAME``, ``ENV/ID-PREFIX``, ``ENV/NODE/NAME`` or id prefix.

        Raises:
            NotFoundError: nothing matches.
            ConflictError: several containers match (their full refs are listed).
        """
        ref = ref.strip().strip("/")
        if not ref:
            raise InvalidInputError("empty container reference")
        parts = ref.split("/")
        env, node, key = (None, None, ref)
        if len(parts) == 2:
            env, key = parts
        elif len(parts) == 3:
            env, node, key = parts
        elif len(parts) > 3:
            raise InvalidInputError(f"bad container reference {ref!r}", hint="use ENV/NAME or ID")
        if env is not None and environments is not None and env not in environments:
            raise NotFoundError(f"no environment {env!r}", hint="list them with: fleetdeck env ls")
        candidates = [
            c
            for c in self._all_containers()
            if (env is None or c.environment == env) and (node is None or c.node == node)
        ]
        exact = [c for c in candidates if c.name == key or c.id == key]
        found = exact or [c for c in candidates if len(key) >= 3 and c.id.startswith(key)]
        if not found:
            where = f" in environment {env!r}" if env else ""
            raise NotFoundError(
                f"no container {key!r}{where}", hint="list containers with: fleetdeck ps -a"
            )
        if len(found) > 1:
            refs = ", ".join(f"{c.environment}/{c.node}/{c.name}" for c in found[:10])
            raise ConflictError(
                f"{ref!r} matches several containers: {refs}",
                hint="use ENV/NODE/NAME or a longer id prefix",
            )
        return found[0]

    # ------------------------------------------------------------ change notification
    def _bump(self, environment: str, node: str | None) -> None:
        self.version += 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(self.version)
        self._waiters.clear()
        self.hub.publish(InventoryChanged(self.version, environment, node))

    async def wait_changed(self, since: int, timeout: float) -> int:
        """Wait until the inventory's version passes ``since`` (or timeout); return it.

        Live views (server-sent events) use this to push a change the moment it lands.
        """
        if self.version > since:
            return self.version
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)
        return self.version
