"""The store: migrations (and the backup before them), SQLite settings, times in UTC."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

from fleetdeck.errors import MigrationError
from fleetdeck.server.app import create_app
from fleetdeck.server.context import context_of
from fleetdeck.server.store import Store
from fleetdeck.server.store.migrate import head_revision, migrate
from fleetdeck.server.store.models import Base, Environment, JoinToken, Node

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Connection

    from fleetdeck.server.config import ServerSettings


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def test_a_new_database_is_migrated_to_head_without_a_backup(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "fleetdeck.db"))
    try:
        assert await migrate(store) is None
        assert await migrate(store) is None  # idempotent
        async with store.session() as session:
            version = await session.scalar(text("SELECT version_num FROM alembic_version"))
            journal = await session.scalar(text("PRAGMA journal_mode"))
            foreign_keys = await session.scalar(text("PRAGMA foreign_keys"))
        assert version == head_revision()
        assert journal == "wal" and foreign_keys == 1
    finally:
        await store.close()
    assert not list(tmp_path.glob("*.bak-*"))


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_the_migrations_create_exactly_what_the_models_describe(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "fleetdeck.db"))
    try:
        await migrate(store)
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await store.close()


async def _start_once_with_a_mark(settings: ServerSettings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert context_of(app).migration_backup is None
        await context_of(app).audit.record("tester", "test.mark", "db", "ok")


def _marks(db: Path) -> list[tuple[str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT actor FROM audit_log WHERE action = 'test.mark'").fetchall()
    conn.close()
    return rows


async def test_a_database_behind_head_is_backed_up_then_migrated(
    settings: ServerSettings,
) -> None:
    await _start_once_with_a_mark(settings)
    store = Store(settings.db_url)
    try:
        await migrate(store, "base", downgrade=True)  # what an older release would have
    finally:
        await store.close()
    restarted = create_app(settings)
    async with restarted.router.lifespan_context(restarted):
        backup = context_of(restarted).migration_backup
        assert backup is not None and backup.parent == settings.data_dir
        assert backup.name.startswith("fleetdeck.db.bak-")
        _, admins = await context_of(restarted).audit.list(action="user.create")
        assert admins == 1  # the schema was re-made and the admin created again
    assert (backup.stat().st_mode & 0o777) == 0o600


async def test_the_backup_keeps_the_data_when_a_migration_fails(
    settings: ServerSettings,
) -> None:
    await _start_once_with_a_mark(settings)
    db = settings.data_dir / "fleetdeck.db"
    with sqlite3.connect(db) as conn:  # ``alembic stamp base``: tables stay, revision gone
        conn.execute("DELETE FROM alembic_version")
    conn.close()
    app = create_app(settings)
    with pytest.raises(MigrationError, match="already exists") as failed:
        async with app.router.lifespan_context(app):
            pass
    (backup,) = settings.data_dir.glob("fleetdeck.db.bak-*")
    assert failed.value.hint == f"the database before it is saved as {backup}"
    assert _marks(backup) == [("tester",)]
    assert _marks(db) == [("tester",)]  # the failed migration rolled back


async def test_times_come_back_aware_utc_and_foreign_keys_cascade(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "fleetdeck.db"))
    try:
        await migrate(store)
        later = datetime(2030, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
        async with store.transaction() as session:
            env = Environment(name="prod", kind="agent", tags=["eu"], groups=[])
            session.add(env)
            await session.flush()
            session.add(
                JoinToken(
                    environment_id=env.id,
                    secret_hash="h",  # noqa: S106 - test data
                    created_by="admin",
                    expires_at=later,
                )
            )
            session.add(
                Node(
                    environment_id=env.id,
                    name="n1",
                    hostname="h1",
                    agent_url="https://10.0.0.1:9001",
                    cert_serial=str(2**150),
                    cert_fingerprint="f" * 64,
                )
            )
        async with store.session() as session:
            token = await session.scalar(select(JoinToken))
            assert token is not None
            assert token.expires_at == later and token.expires_at.tzinfo is UTC
            assert token.created_at.tzinfo is UTC
            loaded = await session.scalar(select(Environment))
            assert loaded is not None and loaded.tags == ["eu"]
        async with store.transaction() as session:
            await session.delete(await session.get(Environment, env.id))
        async with store.session() as session:
            assert (await session.scalars(select(Node))).all() == []
            assert (await session.scalars(select(JoinToken))).all() == []
    finally:
        await store.close()


async def test_a_nested_write_transaction_fails_fast_instead_of_hanging(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "fleetdeck.db"))
    try:
        await migrate(store)
        async with store.transaction():
            with pytest.raises(RuntimeError, match="finish the outer one first"):
                async with store.transaction():
                    pass
        async with store.transaction() as session:  # the lock was released
            session.add(Environment(name="e", kind="local", tags=[], groups=[]))
    finally:
        await store.close()
