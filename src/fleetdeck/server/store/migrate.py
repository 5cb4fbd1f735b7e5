"""Bring the database schema to the newest revision, safely.

Run at every server start. An existing SQLite database that is behind is first copied to
``fleetdeck.db.bak-<UTC timestamp>`` with SQLite's online backup API (a consistent copy even
with a WAL file beside it), so a failed or unwanted upgrade can be undone by putting the copy
back. For other databases the operator is responsible for backups; a log line says so.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from fleetdeck.errors import MigrationError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from fleetdeck.server.store import Store

log = logging.getLogger(__name__)


MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at our migrations (no ``alembic.ini`` needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _state(connection: Connection) -> tuple[str | None, bool]:
    """(current revision, whether the database has any table at all)."""
    current = MigrationContext.configure(connection).get_current_revision()
    return current, bool(inspect(connection).get_table_names())


def _run(connection: Connection, cfg: Config, target: str, downgrade: bool) -> None:
    cfg.attributes["connection"] = connection
    if downgrade:
        command.downgrade(cfg, target)
    else:
        command.upgrade(cfg, target)


def backup_sqlite(db_path: Path) -> Path:
    """Copy a SQLite database (with its WAL) to ``<name>.bak-<timestamp>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = db_path.with_name(f"{db_path.name}.bak-{stamp}")
    with sqlite3.connect(db_path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    target.chmod(0o600)
    return target


async def migrate(store: Store, target: str = "head", *, downgrade: bool = False) -> Path | None:
    """Upgrade (or, for tests and rollbacks, downgrade) the schema; return the backup made.

    Args:
        store: The store whose database to migrate.
        target: Revision to reach.
        downgrade: Go down to ``target`` instead of up.

    Returns:
        The backup file, if an existing SQLite database was copied before changing it.
    """
    try:
        async with store.engine.connect() as conn:
            current, has_tables = await conn.run_sync(_state)
    except SQLAlchemyError as exc:
        raise _unreadable(store, exc) from exc
    wanted = head_revision() if target == "head" else target
    if current == wanted:
        return None
    backup: Path | None = None
    if has_tables:
        database = store.engine.url.database
        if store.is_sqlite and database and database != ":memory:":
            backup = await asyncio.to_thread(backup_sqlite, Path(database))
            log.warning(
                "migrating database from %s to %s; copied it to %s first", current, wanted, backup
            )
        else:
            log.warning("migrating database from %s to %s (no automatic backup)", current, wanted)
    try:
        async with store.engine.connect() as conn:
            if store.is_sqlite:
                # Batch migrations copy tables; with foreign keys on, dropping the old copy
                # would cascade into every referencing row.
                await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.run_sync(_run, alembic_config(), target, downgrade)
            await conn.commit()
            if store.is_sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    except SQLAlchemyError as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        raise MigrationError(
            f"migrating the database from {current} to {wanted} failed: {reason}",
            hint=f"the database before it is saved as {backup}" if backup else None,
        ) from exc
    return backup


def newest_backup(db_path: Path) -> Path | None:
    """The newest ``<name>.bak-<timestamp>`` copy :func:`backup_sqlite` made, if any."""
    copies = sorted(db_path.parent.glob(f"{db_path.name}.bak-*"))
    return copies[-1] if copies else None


def _unreadable(store: Store, exc: SQLAlchemyError) -> MigrationError:
    """The error for a database that cannot even be read (corrupt, not a database, denied).

    It names the file and what to do, so the start ends with that instead of a traceback.
    """
    reason = exc.orig if isinstance(exc, DBAPIError) else exc
    database = store.engine.url.database
    if not store.is_sqlite or not database or database == ":memory:":
        return MigrationError(
            f"cannot read the database: {reason}",
            hint="check database_url and that the database server answers",
        )
    path = Path(database)
    backup = newest_backup(path)
    if backup is not None:
        hint = (
            f"restore the copy made before the last migration: stop the server, move {path} "
            f"aside and copy {backup} to {path}"
        )
    else:
        hint = (
            f"restore {path} from your own backup, or move it aside to start with an empty "
            "database (environments must then be enrolled again)"
        )
    return MigrationError(f"cannot read the database {path}: {reason}", hint=hint)


def _revision(connection: Connection, cfg: Config, message: str, rev_id: str) -> None:
    cfg.attributes["connection"] = connection
    command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)


async def autogenerate(store: Store, message: str, rev_id: str) -> None:
    """Write a new revision from the difference between the models and ``store``'s schema.

    For developers: migrate a scratch database to head, change the models, call this, then
    tidy the generated file (``sa.DateTime()`` for ``UTCDateTime``; name it ``rNNNN_*.py``).
    """
    async with store.engine.connect() as conn:
        await conn.run_sync(_revision, alembic_config(), message, rev_id)
