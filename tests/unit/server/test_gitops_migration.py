"""Migration 0016 on a real SQLite file: the GitOps tables come and go."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from fleetdeck.server.store import Store
from fleetdeck.server.store.migrate import migrate

if TYPE_CHECKING:
    from pathlib import Path

TABLES = {"git_repos", "stack_sources", "stack_revision_commits"}


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    return names


async def test_upgrade_adds_the_gitops_tables_and_downgrade_removes_them(tmp_path: Path) -> None:
    db = tmp_path / "fleetdeck.db"
    store = Store(f"sqlite+aiosqlite:///{db}")
    try:
        await migrate(store, "0015")
        assert not TABLES & _tables(db)
        await migrate(store, "0016")
        assert TABLES <= _tables(db)
        await migrate(store, "0015", downgrade=True)
        assert not TABLES & _tables(db)
    finally:
        await store.close()
