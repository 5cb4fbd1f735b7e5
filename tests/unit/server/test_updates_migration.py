"""Migration 0017 on a real SQLite file: the image-update tables come and go, rows survive."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fleetdeck.server.store import Store
from fleetdeck.server.store.migrate import migrate
from fleetdeck.server.store.models_updates import UpdateStateRow
from fleetdeck.server.updates.repository import UpdatesRepository

if TYPE_CHECKING:
    from pathlib import Path

DIGEST = "sha256:" + "1" * 64


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    conn.close()
    return {r[0] for r in rows}


async def test_upgrade_creates_the_tables_and_downgrade_drops_them(tmp_path: Path) -> None:
    db = tmp_path / "fleetdeck.db"
    store = Store(f"sqlite+aiosqlite:///{db}")
    try:
        await migrate(store, "0015")
        assert not {"update_policies", "update_states"} & _tables(db)
        await migrate(store)
        assert {"update_policies", "update_states"} <= _tables(db)
        repo = UpdatesRepository(store)
        await repo.put_policy("shop/web", "auto", "alice")
        await repo.put_policy("shop/web", "notify", "bob")  # replaced, not added
        assert await repo.policies() == {"shop/web": "notify"}
        checked = datetime(2030, 1, 1, tzinfo=UTC)
        row = UpdateStateRow(stack="shop", service="web", environment="lab", image="r/w:1",
                             reference="r/w:1", running_digest=DIGEST, status="current",
                             message="", failed_digests=[DIGEST], checked_at=checked)  # fmt: skip
        await repo.save(row)
        (stored,) = await repo.states()
        assert stored.failed_digests == [DIGEST] and stored.checked_at == checked
        stored.status = "available"
        await repo.save(stored)
        assert [r.status for r in await repo.states()] == ["available"]
        await repo.forget(set())
        assert await repo.states() == []
        await migrate(store, "0015", downgrade=True)
        assert not {"update_policies", "update_states"} & _tables(db)
    finally:
        await store.close()
