"""Migration 0018 on a real SQLite file: the drift table, used through its repository."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fleetdeck.server.drift.repository import DriftRepository
from fleetdeck.server.store import Store
from fleetdeck.server.store.migrate import migrate

if TYPE_CHECKING:
    from pathlib import Path


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    return names


async def test_upgrade_creates_the_drift_table_and_downgrade_drops_it(tmp_path: Path) -> None:
    db = tmp_path / "fleetdeck.db"
    store = Store(f"sqlite+aiosqlite:///{db}")
    try:
        await migrate(store, "0015")
        assert "stack_drift" not in _tables(db)
        await migrate(store)
        assert "stack_drift" in _tables(db)

        repo = DriftRepository(store)
        due = datetime(2030, 1, 1, 12, tzinfo=UTC)
        await repo.update("shop", policy="revert", reverts=2, next_revert_at=due)
        await repo.update("shop", baselines={"web": {"label": "{}", "live": {}, "version": 3}})
        row = await repo.get("shop")
        assert row is not None and (row.policy, row.reverts, row.suspended) == ("revert", 2, False)
        assert row.next_revert_at == due and row.baselines["web"]["version"] == 3
        await repo.delete("shop")
        assert await repo.all() == {}

        await migrate(store, "0015", downgrade=True)
        assert "stack_drift" not in _tables(db)
    finally:
        await store.close()
