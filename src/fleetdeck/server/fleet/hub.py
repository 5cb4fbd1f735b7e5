"""The fleet's event hub: typed events that parts subscribe to instead of polling or chaining.

The fleet owns one :class:`EventHub` (``fleet.hub``). Its inventory publishes
:class:`MetricsBatch` (every ``metrics`` message of every agent stream),
:class:`InventoryChanged` and :class:`AgentReported`; its links publish :class:`LinkAdded` /
:class:`LinkRemoved`; the stack service publishes :class:`DeployFinished` when a deploy
ends. Parts subscribe in their ``start`` and unsubscribe in their ``stop``::

    subscription = fleet.hub.subscribe(MetricsBatch, writer.on_metrics)
    ...
    fleet.hub.unsubscribe(subscription)

Delivery is synchronous, in subscription order, on the publisher's task: a subscriber must
not block (one with slow or async work queues the event and does it in its own loop). A
subscriber that raises is logged with its traceback and the others still get the event: a
bug in one part never breaks the stream that feeds every other.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricsBatch:
    """One ``metrics`` message of a node's inventory stream (its JSON form)."""

    environment: str
    node: str
    message: dict[str, Any]


@dataclass(frozen=True)
class LinkAdded:
    """The server now follows a node's agent (enrolled, re-enrolled, or loaded at start).

    The link itself is ``fleet.links.get(environment, node)`` (not carried here: the links
    module builds on the inventory, which publishes through this module).
    """

    environment: str
    node: str


@dataclass(frozen=True)
class AgentReported:
    """A node's agent reported a version, protocol or commit other than it did before.

    ``protocol`` is the effective one (1 for agents that report none, see
    :mod:`fleetdeck.protocol`). Published by the inventory; the fleet records it in the store.
    """

    environment: str
    node: str
    version: str | None
    protocol: int
    commit: str | None


@dataclass(frozen=True)
class LinkRemoved:
    """The server closed its link to a node (removed or re-enrolled, environment deleted)."""

    environment: str
    node: str


@dataclass(frozen=True)
class InventoryChanged:
    """The inventory changed in a way a view would show; ``node`` None: a whole environment."""

    version: int
    environment: str
    node: str | None


@dataclass(frozen=True)
class DeployFinished:
    """A stack deploy (or rollback) ended: ``ok``, with its message and revision."""

    stack: str
    environment: str
    ok: bool
    message: str
    revision: int | None = None


FleetEvent = (
    MetricsBatch | LinkAdded | LinkRemoved | InventoryChanged | DeployFinished | AgentReported
)
E = TypeVar(
    "E", MetricsBatch, LinkAdded, LinkRemoved, InventoryChanged, DeployFinished, AgentReported
)


@dataclass(frozen=True, eq=False)
class Subscription(Generic[E]):
    """A subscriber of one kind of event; give it back to :meth:`EventHub.unsubscribe`."""

    kind: type[E]
    callback: Callable[[E], object]


class EventHub:
    """Subscribe to, unsubscribe from, and publish the fleet's events."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Any], list[Subscription[Any]]] = {}

    def subscribe(self, kind: type[E], callback: Callable[[E], object]) -> Subscription[E]:
        """Call ``callback`` with every event of type ``kind`` published from now on.

        Raises:
            TypeError: ``callback`` is a coroutine function (publishing never awaits).
        """
        if inspect.iscoroutinefunction(callback):
            raise TypeError("a hub subscriber is a plain function: queue async work yourself")
        subscription = Subscription(kind, callback)
        self._subscribers.setdefault(kind, []).append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription[Any]) -> None:
        """Stop delivering to ``subscription`` (nothing happens if it was already removed)."""
        subscribers = self._subscribers.get(subscription.kind, [])
        if subscription in subscribers:
            subscribers.remove(subscription)

    def has_subscribers(self, kind: type[FleetEvent]) -> bool:
        """Whether anyone listens to ``kind`` (spares building an event nobody reads)."""
        return bool(self._subscribers.get(kind))

    def publish(self, event: FleetEvent) -> None:
        """Deliver ``event`` to each subscriber of its type; one that raises is logged."""
        for subscription in list(self._subscribers.get(type(event), ())):
            try:
                subscription.callback(event)
            except Exception:  # one part's bug must not starve the others
                log.exception("a subscriber of %s failed", type(event).__name__)
