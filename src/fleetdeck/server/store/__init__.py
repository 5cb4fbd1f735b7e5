"""The server's store: SQLAlchemy 2 **async** (``sqlite+aiosqlite`` by default).

One approach everywhere: routes and reconcilers are ``async def`` and talk to the database
through :class:`Store` with ``AsyncSession``; nothing blocks the event loop on I/O.

* Reads: ``async with store.session() as s: rows = (await s.scalars(select(M))).all()``.
* Writes: ``async with store.transaction() as s: s.add(M(...))`` — commits when the block
  ends without an exception, rolls back otherwise.

On SQLite, write transactions are serialised by an ``asyncio.Lock`` in this process (SQLite
allows one writer anyway; taking turns here avoids ``database is locked`` when a read
transaction is upgraded to a write), the database runs in WAL mode with
``synchronous=FULL`` (a committed transaction survives a killed process) and foreign keys on.
Never open a ``transaction()`` (or call ``audit.record``, which opens one) inside another in
the same task: that raises RuntimeError at once rather than waiting on itself forever.
Objects stay usable after commit (``expire_on_commit=False``); relationships are not mapped,
so nothing lazy-loads behind an ``await``.
"""

from __future__ import annotations

import asyncio
import functools
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["Store"]


#: How long a statement waits for another connection's lock before "database is locked"
#: (the API then answers 503 with Retry-After; setting ``db_busy_timeout_s``).
DEFAULT_BUSY_TIMEOUT_S = 10.0


def _sqlite_pragmas(busy_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings (they are not persistent, except journal_mode)."""
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={busy_timeout_ms}",
    ):
        cursor.execute(pragma)
    cursor.close()


class Store:
    """The database: an async engine and the sessions made from it.

    Args:
        url: SQLAlchemy async URL, e.g. ``sqlite+aiosqlite:////var/lib/fleetdeck/server/fleetdeck.db``.
        busy_timeout_s: SQLite only: how long to wait for another process's lock.
    """

    def __init__(self, url: str, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine = create_async_engine(url)
        if self.is_sqlite:
            pragmas = functools.partial(_sqlite_pragmas, round(busy_timeout_s * 1000))
            event.listen(self.engine.sync_engine, "connect", pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock()
        self._writer: asyncio.Task[object] | None = None

    def session(self) -> AsyncSession:
        """A session for reads (use as ``async with``); commit yourself if you write."""
        return self.sessionmaker()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits at the end of the block (or rolls back)."""
        if self.is_sqlite:
            me = asyncio.current_task()
            if me is not None and self._writer is me:
                # Waiting for our own lock would hang forever; say what to change instead.
                raise RuntimeError(
                    "store.transaction() inside another in the same task (e.g. "
                    "audit.record within a transaction): finish the outer one first"
                )
            async with self._write_lock:
                self._writer = me
                try:
                    async with self.sessionmaker.begin() as session:
                        yield session
                finally:
                    self._writer = None
        else:
            async with self.sessionmaker.begin() as session:
                yield session

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
