"""Scaled replica counts of stack services: what wins over the Compose file, and when.

``fleetdeck scale STACK/SERVICE=N`` and the autoscaler set a service's count without a new
revision of the stack's files. The count is stored (``stack_scales``) with the count the
file said at that moment, so a deploy and a scale never fight:

- while the file still says what it said, a deploy keeps the scaled count;
- once the file's count changed, its author decided: the file wins and the row is dropped.

A row is ``pending`` from the moment a scale is asked until its replicas converged, so a
server stopped mid-scale finishes it when it is back (see :mod:`.scaler`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import delete, select

from fleetdeck.server.stacks.host.spec import replicas_of
from fleetdeck.server.store.models import utcnow
from fleetdeck.server.store.models_stacks import StackScale

if TYPE_CHECKING:
    from fleetdeck.compose import Project
    from fleetdeck.server.store import Store

#: The most replicas one service may be scaled to (a typo of 1000 must not fill a node).
MAX_REPLICAS = 100


class Scaler(Protocol):
    """What sets a stack service's count.

    :class:`~.scaler.StackScaler` is one; a protocol here, so that the stack service can hold
    one without importing it (the scaler uses the stack service).
    """

    async def scale(
        self, stack: str, service: str, replicas: int, actor: str, *, progress: Any = None
    ) -> dict[str, Any]:
        """Set ``service``'s count and converge to it; the result as JSON."""
        ...


@dataclass(frozen=True)
class Scaled:
    """A stored scaled count."""

    stack: str
    service: str
    replicas: int
    file_replicas: int
    pending: bool
    actor: str


def effective_counts(rows: list[Scaled], project: Project) -> tuple[dict[str, int], list[Scaled]]:
    """The counts that win over ``project``'s, and the rows the file overrode (to drop).

    A row whose service left the file is stale too.
    """
    wins: dict[str, int] = {}
    stale: list[Scaled] = []
    for row in rows:
        service = project.services.get(row.service)
        if service is None or replicas_of(service) != row.file_replicas:
            stale.append(row)
        else:
            wins[row.service] = row.replicas
    return wins, stale


def _scaled(row: StackScale) -> Scaled:
    return Scaled(row.stack, row.service, row.replicas, row.file_replicas, row.pending, row.actor)


class ScaleRepository:
    """The ``stack_scales`` rows."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def of_stack(self, stack: str) -> list[Scaled]:
        """A stack's scaled services."""
        async with self._store.session() as session:
            rows = await session.scalars(select(StackScale).where(StackScale.stack == stack))
            return [_scaled(r) for r in rows]

    async def find(self, stack: str, service: str) -> Scaled | None:
        """One service's scaled count, if it has one."""
        async with self._store.session() as session:
            row = await session.scalar(
                select(StackScale).where(StackScale.stack == stack, StackScale.service == service)
            )
            return _scaled(row) if row is not None else None

    async def pending(self) -> list[Scaled]:
        """Scales asked for and not converged yet (a stopped server left them)."""
        async with self._store.session() as session:
            rows = await session.scalars(select(StackScale).where(StackScale.pending.is_(True)))
            return [_scaled(r) for r in rows]

    async def put(self, scaled: Scaled) -> None:
        """Store (or replace) a service's scaled count."""
        async with self._store.transaction() as session:
            row = await session.scalar(
                select(StackScale).where(
                    StackScale.stack == scaled.stack, StackScale.service == scaled.service
                )
            )
            if row is None:
                row = StackScale(stack=scaled.stack, service=scaled.service)
                session.add(row)
            row.replicas, row.file_replicas = scaled.replicas, scaled.file_replicas
            row.pending, row.actor, row.updated_at = scaled.pending, scaled.actor, utcnow()

    async def converged(self, stack: str, service: str, replicas: int) -> None:
        """The service runs ``replicas`` now: the scale is no longer pending."""
        async with self._store.transaction() as session:
            row = await session.scalar(
                select(StackScale).where(StackScale.stack == stack, StackScale.service == service)
            )
            if row is not None and row.replicas == replicas:
                row.pending = False

    async def drop(self, stack: str, services: list[str] | None = None) -> None:
        """Forget scaled counts: of the given services, or of the whole stack."""
        async with self._store.transaction() as session:
            query = delete(StackScale).where(StackScale.stack == stack)
            if services is not None:
                query = query.where(StackScale.service.in_(services))
            await session.execute(query)
