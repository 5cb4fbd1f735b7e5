"""The drift table (``store/models_drift.py``): policies, suspensions, alert and revert state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from fleetdeck.server.store.models import utcnow
from fleetdeck.server.store.models_drift import StackDriftState

if TYPE_CHECKING:
    from fleetdeck.server.store import Store


class DriftRepository:
    """Reads and writes the drift rows (one per stack)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def all(self) -> dict[str, StackDriftState]:
        """Every row, by stack name."""
        async with self._store.session() as session:
            rows = (await session.scalars(select(StackDriftState))).all()
            return {row.stack: row for row in rows}

    async def get(self, stack: str) -> StackDriftState | None:
        """One stack's row, or None."""
        async with self._store.session() as session:
            return await session.get(StackDriftState, stack)

    async def update(self, stack: str, **fields: Any) -> StackDriftState:
        """Create the row if needed and set ``fields`` on it."""
        async with self._store.transaction() as session:
            row = await session.get(StackDriftState, stack)
            if row is None:
                row = StackDriftState(
                    stack=stack, suspended=False, alerted=False, reverts=0, last_error="",
                    baselines={},
                )  # fmt: skip
                session.add(row)
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            return row

    async def delete(self, stack: str) -> None:
        """Forget a stack (it was removed)."""
        async with self._store.transaction() as session:
            await session.execute(delete(StackDriftState).where(StackDriftState.stack == stack))
