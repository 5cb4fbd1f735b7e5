"""The image-update tables (``store/models_updates.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from fleetdeck.errors import NotFoundError
from fleetdeck.server.store.models import utcnow
from fleetdeck.server.store.models_updates import UpdatePolicyRow, UpdateStateRow

if TYPE_CHECKING:
    from fleetdeck.server.store import Store


class UpdatesRepository:
    """Reads and writes policies and per-service states."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def policies(self) -> dict[str, str]:
        """The API's policies by target."""
        async with self._store.session() as session:
            rows = (await session.scalars(select(UpdatePolicyRow))).all()
        return {r.target: r.policy for r in rows}

    async def put_policy(self, target: str, policy: str, actor: str) -> None:
        """Set the API's policy of ``target``."""
        async with self._store.transaction() as session:
            row = await session.get(UpdatePolicyRow, target)
            if row is None:
                row = UpdatePolicyRow(target=target)
                session.add(row)
            row.policy, row.actor, row.updated_at = policy, actor, utcnow()

    async def delete_policy(self, target: str) -> None:
        """Remove the API's policy of ``target``; NotFoundError if it has none."""
        async with self._store.transaction() as session:
            result = await session.execute(
                delete(UpdatePolicyRow).where(UpdatePolicyRow.target == target)
            )
            if not getattr(result, "rowcount", 0):
                raise NotFoundError(
                    f"{target!r} has no update policy of the API",
                    hint="list them with: fleetdeck updates policy",
                )

    async def states(self) -> list[UpdateStateRow]:
        """Every service's state, by stack and service."""
        async with self._store.session() as session:
            query = select(UpdateStateRow).order_by(UpdateStateRow.stack, UpdateStateRow.service)
            return list((await session.scalars(query)).all())

    async def save(self, row: UpdateStateRow) -> None:
        """Write one state (new or changed)."""
        row.updated_at = utcnow()
        async with self._store.transaction() as session:
            await session.merge(row)

    async def forget(self, keep: set[tuple[str, str]]) -> None:
        """Drop the states of services no longer watched (their stack or service is gone)."""
        async with self._store.transaction() as session:
            rows = (await session.scalars(select(UpdateStateRow))).all()
            for row in rows:
                if (row.stack, row.service) not in keep:
                    await session.delete(row)
