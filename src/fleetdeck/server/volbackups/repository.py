"""Volume backup policies and runs in the store: SQLAlchemy queries only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from fleetdeck.errors import ConflictError, NotFoundError
from fleetdeck.server.store.models import utcnow
from fleetdeck.server.store.models_volume_backups import VolumeBackupPolicy, VolumeBackupRun

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fleetdeck.server.store import Store


class VolumeBackupRepository:
    """The volume backup tables of one store.

    Args:
        store: The server's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    async def policies(self) -> list[VolumeBackupPolicy]:
        """Every policy, by name."""
        async with self.store.session() as session:
            query = select(VolumeBackupPolicy).order_by(VolumeBackupPolicy.name)
            return list((await session.scalars(query)).all())

    async def policy(self, name: str) -> VolumeBackupPolicy:
        """The policy called ``name``; NotFoundError if there is none."""
        async with self.store.session() as session:
            row = await session.scalar(
                select(VolumeBackupPolicy).where(VolumeBackupPolicy.name == name)
            )
        if row is None:
            raise NotFoundError(f"no volume backup policy {name!r}")
        return row

    async def add_policy(self, row: VolumeBackupPolicy) -> VolumeBackupPolicy:
        """Store a new policy; ConflictError if its name is taken."""
        async with self.store.transaction() as session:
            taken = await session.scalar(
                select(VolumeBackupPolicy.id).where(VolumeBackupPolicy.name == row.name)
            )
            if taken:
                raise ConflictError(f"volume backup policy {row.name!r} exists already")
            session.add(row)
        return row

    async def delete_policy(self, name: str) -> None:
        """Forget a policy; NotFoundError if there is none (its backups stay)."""
        async with self.store.transaction() as session:
            row = await session.scalar(
                select(VolumeBackupPolicy).where(VolumeBackupPolicy.name == name)
            )
            if row is None:
                raise NotFoundError(f"no volume backup policy {name!r}")
            await session.delete(row)

    async def replace_declared(
        self, source: str, stack: str, rows: Iterable[VolumeBackupPolicy]
    ) -> None:
        """Replace the ``source`` (compose/label) policies of ``stack`` with ``rows``."""
        async with self.store.transaction() as session:
            await session.execute(
                delete(VolumeBackupPolicy).where(
                    VolumeBackupPolicy.source == source, VolumeBackupPolicy.stack == stack
                )
            )
            await session.flush()
            for row in rows:
                clash = await session.scalar(
                    select(VolumeBackupPolicy.id).where(VolumeBackupPolicy.name == row.name)
                )
                if clash is None:  # an API policy of that name wins
                    session.add(row)

    async def runs(self, limit: int = 100, policy: str | None = None) -> list[VolumeBackupRun]:
        """The newest runs first (of one policy when given)."""
        async with self.store.session() as session:
            query = select(VolumeBackupRun).order_by(VolumeBackupRun.started_at.desc())
            if policy is not None:
                query = query.where(VolumeBackupRun.policy == policy)
            return list((await session.scalars(query.limit(limit))).all())

    async def run(self, ref: str) -> VolumeBackupRun:
        """The run whose id or snapshot id starts with ``ref``; NotFoundError otherwise."""
        async with self.store.session() as session:
            row = await session.get(VolumeBackupRun, ref)
            if row is None and len(ref) >= 4:
                query = select(VolumeBackupRun).where(VolumeBackupRun.snapshot_id.startswith(ref))
                rows = list((await session.scalars(query.limit(2))).all())
                row = rows[0] if len(rows) == 1 else None
        if row is None:
            raise NotFoundError(
                f"no volume backup {ref!r}", hint="see `fleetdeck backup volume ls`"
            )
        return row

    async def add_run(self, row: VolumeBackupRun) -> VolumeBackupRun:
        """Record a run that starts."""
        async with self.store.transaction() as session:
            session.add(row)
        return row

    async def update_run(self, run_id: str, **values: Any) -> None:
        """Change a run's columns."""
        async with self.store.transaction() as session:
            await session.execute(
                update(VolumeBackupRun).where(VolumeBackupRun.id == run_id).values(**values)
            )

    async def mark_interrupted(self) -> int:
        """Runs left ``running`` by a server that stopped: ``interrupted``."""
        async with self.store.transaction() as session:
            result = await session.execute(
                update(VolumeBackupRun)
                .where(VolumeBackupRun.status == "running")
                .values(status="interrupted", finished_at=utcnow(), error="the server stopped")
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def mark_forgotten(self, policy: str, volume: str, snapshot_ids: Iterable[str]) -> None:
        """Runs whose snapshots retention removed: ``forgotten``."""
        short = {s[:8] for s in snapshot_ids}
        if not short:
            return
        async with self.store.transaction() as session:
            query = select(VolumeBackupRun).where(
                VolumeBackupRun.policy == policy,
                VolumeBackupRun.volume == volume,
                VolumeBackupRun.status == "ok",
            )
            for row in (await session.scalars(query)).all():
                if row.snapshot_id and row.snapshot_id[:8] in short:
                    row.status = "forgotten"
