"""Backup targets, schedule and runs in the store: SQLAlchemy queries only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from fleetdeck.errors import ConflictError, NotFoundError
from fleetdeck.server.store.models import utcnow
from fleetdeck.server.store.models_backups import BackupRun, BackupSchedule, BackupTarget

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fleetdeck.server.store import Store

SCHEDULE_ID = 1


class BackupRepository:
    """The backup tables of one store.

    Args:
        store: The server's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    async def targets(self) -> list[BackupTarget]:
        """Every target, by name."""
        async with self.store.session() as session:
            query = select(BackupTarget).order_by(BackupTarget.name)
            return list((await session.scalars(query)).all())

    async def target(self, name: str) -> BackupTarget:
        """The target called ``name``; NotFoundError if there is none."""
        async with self.store.session() as session:
            row = await session.scalar(select(BackupTarget).where(BackupTarget.name == name))
        if row is None:
            raise NotFoundError(f"no backup target {name!r}")
        return row

    async def add_target(self, row: BackupTarget) -> BackupTarget:
        """Store a new target; ConflictError if its name is taken."""
        async with self.store.transaction() as session:
            if await session.scalar(select(BackupTarget.id).where(BackupTarget.name == row.name)):
                raise ConflictError(f"backup target {row.name!r} exists already")
            session.add(row)
        return row

    async def delete_target(self, name: str) -> None:
        """Forget a target; NotFoundError if there is none (its backups stay where they are)."""
        async with self.store.transaction() as session:
            row = await session.scalar(select(BackupTarget).where(BackupTarget.name == name))
            if row is None:
                raise NotFoundError(f"no backup target {name!r}")
            await session.delete(row)

    async def schedule(self) -> BackupSchedule:
        """The schedule (a disabled default when none was ever set)."""
        async with self.store.session() as session:
            row = await session.get(BackupSchedule, SCHEDULE_ID)
        return row or BackupSchedule(
            id=SCHEDULE_ID, enabled=False, interval_s=86400.0, target=None, updated_at=utcnow()
        )

    async def save_schedule(self, enabled: bool, interval_s: float, target: str | None) -> None:
        """Replace the schedule."""
        async with self.store.transaction() as session:
            row = await session.get(BackupSchedule, SCHEDULE_ID)
            if row is None:
                row = BackupSchedule(id=SCHEDULE_ID)
                session.add(row)
            row.enabled, row.interval_s, row.target = enabled, interval_s, target
            row.updated_at = utcnow()

    async def runs(self, limit: int = 100) -> list[BackupRun]:
        """The newest runs first."""
        async with self.store.session() as session:
            query = select(BackupRun).order_by(BackupRun.started_at.desc()).limit(limit)
            return list((await session.scalars(query)).all())

    async def run(self, ref: str) -> BackupRun:
        """The run whose id or snapshot id starts with ``ref``; NotFoundError otherwise."""
        for row in await self.runs(limit=10_000):
            if row.id == ref or (row.snapshot_id and row.snapshot_id.startswith(ref)):
                return row
        raise NotFoundError(f"no backup {ref!r}", hint="see `fleetdeck backup ls`")

    async def add_run(self, row: BackupRun) -> BackupRun:
        """Record a run that starts."""
        async with self.store.transaction() as session:
            session.add(row)
        return row

    async def update_run(self, run_id: str, **values: Any) -> None:
        """Change a run's columns."""
        async with self.store.transaction() as session:
            await session.execute(update(BackupRun).where(BackupRun.id == run_id).values(**values))

    async def mark_interrupted(self) -> int:
        """Runs left ``running`` by a server that stopped mid-backup: ``interrupted``."""
        async with self.store.transaction() as session:
            result = await session.execute(
                update(BackupRun)
                .where(BackupRun.status == "running")
                .values(status="interrupted", finished_at=utcnow(), error="the server stopped")
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def mark_forgotten(self, target: str, snapshot_ids: Iterable[str]) -> None:
        """Runs whose snapshots retention removed: ``forgotten``."""
        short = {s[:8] for s in snapshot_ids}
        if not short:
            return
        async with self.store.transaction() as session:
            rows = (
                await session.scalars(
                    select(BackupRun).where(BackupRun.target == target, BackupRun.status == "ok")
                )
            ).all()
            for row in rows:
                if row.snapshot_id and row.snapshot_id[:8] in short:
                    row.status = "forgotten"
