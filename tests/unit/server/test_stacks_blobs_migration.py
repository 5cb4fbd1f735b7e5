"""Migration 0008 on a real SQLite file: inline stack files move to ``stack_blobs`` and back."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from fleetdeck.server.secrets import SecretBox
from fleetdeck.server.stacks.repository import StackRepository
from fleetdeck.server.store import Store
from fleetdeck.server.store.migrate import migrate

if TYPE_CHECKING:
    from pathlib import Path

COMPOSE = "services:\n  web:\n    image: 127.0.0.1:5000/web:1\n"
CONF_V1, CONF_V2 = "listen 80\n", "listen 8080\n"
NOW = "2026-11-22 10:00:00.000000"


def _write_0007_rows(db: Path) -> None:
    """What a server before 0008 stored: a stack and two revisions with inline contents."""
    v1 = [{"name": "compose.yaml", "content": COMPOSE}, {"name": "app.conf", "content": CONF_V1}]
    v2 = [{"name": "compose.yaml", "content": COMPOSE}, {"name": "app.conf", "content": CONF_V2}]
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO stacks (id, name, environment, kind, files, env_file, revision, status,"
            " message, created_at, updated_at) VALUES ('s1', 'shop', 'lab', 'host', ?, NULL, 2,"
            " 'running', '', ?, ?)",
            (json.dumps(v2), NOW, NOW),
        )
        for number, files in ((1, v1), (2, v2)):
            conn.execute(
                "INSERT INTO stack_revisions (id, stack_id, revision, time, actor, environment,"
                " result, message, strategy, files, env_file, variables, image_digests)"
                " VALUES (?, 's1', ?, ?, 'admin', 'lab', 'ok', '', 'auto', ?, NULL, '[]', '{}')",
                (f"r{number}", number, NOW, json.dumps(files)),
            )
    conn.close()


def _files_column(db: Path, table: str) -> list[list[dict[str, str]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f"SELECT files FROM {table} ORDER BY id").fetchall()  # noqa: S608
    conn.close()
    return [json.loads(row[0]) for row in rows]


async def test_upgrade_moves_contents_to_blobs_and_downgrade_inlines_them(tmp_path: Path) -> None:
    db = tmp_path / "fleetdeck.db"
    store = Store(f"sqlite+aiosqlite:///{db}")
    try:
        await migrate(store, "0007")
        _write_0007_rows(db)
        await migrate(store)  # to head: 0008 and later

        revisions = _files_column(db, "stack_revisions")
        assert all(set(entry) == {"name", "sha256", "size"} for rev in revisions for entry in rev)
        assert revisions[0][0] == revisions[1][0]  # the same compose.yaml, one blob
        with sqlite3.connect(db) as conn:
            blobs = conn.execute("SELECT stack, size FROM stack_blobs ORDER BY size").fetchall()
        conn.close()
        assert sorted(blobs) == sorted([("shop", 10), ("shop", 12), ("shop", len(COMPOSE))])

        repo = StackRepository(store, SecretBox(b"k" * 32))
        stack = await repo.require("shop")
        files = await repo.files("shop", stack.files)
        assert [(f.name, f.data) for f in files] == [
            ("compose.yaml", COMPOSE.encode()), ("app.conf", CONF_V2.encode()),
        ]  # fmt: skip
        first = await repo.revision(stack, 1)
        assert (await repo.files("shop", first.files))[1].data == CONF_V1.encode()

        await migrate(store, "0007", downgrade=True)
        assert _files_column(db, "stack_revisions")[0] == [
            {"name": "compose.yaml", "content": COMPOSE}, {"name": "app.conf", "content": CONF_V1},
        ]  # fmt: skip
        assert _files_column(db, "stacks")[0][1] == {"name": "app.conf", "content": CONF_V2}
        with sqlite3.connect(db) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        conn.close()
        assert "stack_blobs" not in tables
    finally:
        await store.close()
