"""The log store: a SQLite file of its own (``logs.db`` in the data dir) with an FTS5 index.

Why a separate file and not the main store (and so not Alembic): log lines arrive by the
million, and in SQLite one file has one writer at a time; in the main file every batch of
lines would queue with logins, audit entries and inventory writes. A file of its own in WAL
mode lets ingest, pruning and searches run without touching the main store, works the same
whether the main store is SQLite or PostgreSQL, and can be deleted to start over without
losing anything else. Its schema is created idempotently on open (``IF NOT EXISTS``), and
``log_meta.schema`` records its version for a later change to migrate from.

Tables: ``log_sources`` (one row per environment/node/container: its name, stack and
service as the agent last announced them, the shipping cursor and the dropped-line count),
``log_lines`` (source, engine time in ns, stream, text) and ``log_fts``, an external-content
FTS5 index over ``log_lines.line``. Lines stay after their container is removed; pruning
removes them by age and by the file's size (``auto_vacuum=INCREMENTAL`` gives the space back).

Every method is synchronous: the collector runs all writes on one thread, searches run on
others (each thread has its own connection; WAL lets readers proceed during a write).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

SCHEMA_VERSION = "1"
STREAMS = {"stdout": 1, "stderr": 2}
STREAM_NAMES = {1: "stdout", 2: "stderr"}
#: Rows deleted per pruning transaction (keeps each write short so ingest never waits long).
PRUNE_CHUNK = 5000
#: Pages of FTS index work per merge after a pruning chunk (bounded, so ingest waits little).
MERGE_PAGES = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_sources (
    id INTEGER PRIMARY KEY,
    environment TEXT NOT NULL,
    node TEXT NOT NULL,
    container_id TEXT NOT NULL,
    name TEXT NOT NULL,
    stack TEXT,
    service TEXT,
    cursor_ns INTEGER NOT NULL DEFAULT 0,
    cursor_seen INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0,
    updated_ns INTEGER NOT NULL DEFAULT 0,
    UNIQUE (environment, node, container_id)
);
CREATE INDEX IF NOT EXISTS log_sources_name ON log_sources (name);
CREATE INDEX IF NOT EXISTS log_sources_stack ON log_sources (stack);
CREATE TABLE IF NOT EXISTS log_lines (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL,
    time_ns INTEGER NOT NULL,
    stream INTEGER NOT NULL,
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_lines_time ON log_lines (time_ns);
CREATE INDEX IF NOT EXISTS log_lines_source ON log_lines (source_id, id);
CREATE VIRTUAL TABLE IF NOT EXISTS log_fts
    USING fts5 (line, content='log_lines', content_rowid='id');
"""

#: (environment, node, container id)
SourceKey = tuple[str, str, str]


@dataclass
class Batch:
    """What one write transaction applies (built by the collector from agent messages).

    Attributes:
        sources: Announced containers: key → {"name", "stack", "service"}.
        lines: (key, time ns, stream, text) in arrival order.
        cursors: key → (time ns, seen) after these lines.
        dropped: key → lines the agent dropped (added to the source's count).
    """

    sources: dict[SourceKey, dict[str, Any]]
    lines: list[tuple[SourceKey, int, str, str]]
    cursors: dict[SourceKey, tuple[int, int]]
    dropped: dict[SourceKey, int]


class LogStore:
    """The log database file.

    Args:
        path: The SQLite file (created with its schema if missing).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._source_ids: dict[SourceKey, int] = {}
        conn = self.connection()
        with conn:
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO log_meta (key, value) VALUES ('schema', ?)",
                (SCHEMA_VERSION,),
            )

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
            # auto_vacuum only takes effect on a new file (before its first table).
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -------------------------------------------------------------- writing
    def cursors(self, environment: str, node: str) -> dict[str, tuple[int, int]]:
        """The stored cursor of every container of a node that has one."""
        rows = self.connection().execute(
            "SELECT container_id, cursor_ns, cursor_seen FROM log_sources "
            "WHERE environment = ? AND node = ? AND cursor_ns > 0",
            (environment, node),
        )
        return {cid: (ns, seen) for cid, ns, seen in rows}

    def _source_id(self, conn: sqlite3.Connection, key: SourceKey, meta: dict[str, Any]) -> int:
        """The row id of ``key``'s source, recording ``meta`` (name, stack, service) if given.

        Lines arrive without metadata (the agent announces a container once per stream), and
        the id cache is emptied by every prune: a source met again without metadata must keep
        the name, stack and service stored with it. Only an announcement writes them, so it
        also repairs a row stored earlier without them (under its id, no stack).
        """
        if meta:
            name = str(meta.get("name") or key[2][:12])
            conn.execute(
                "INSERT INTO log_sources (environment, node, container_id, name, stack, service,"
                " updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(environment, node, container_id) DO UPDATE SET name = excluded.name, "
                "stack = excluded.stack, service = excluded.service, "
                "updated_ns = excluded.updated_ns",
                (*key, name, meta.get("stack"), meta.get("service"), time.time_ns()),
            )
        elif key in self._source_ids:
            return self._source_ids[key]
        else:
            conn.execute(
                "INSERT INTO log_sources (environment, node, container_id, name, updated_ns) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (environment, node, container_id) DO NOTHING",
                (*key, key[2][:12], time.time_ns()),
            )
        row = conn.execute(
            "SELECT id FROM log_sources WHERE environment = ? AND node = ? AND container_id = ?",
            key,
        ).fetchone()
        self._source_ids[key] = int(row[0])
        return self._source_ids[key]

    def write(self, batch: Batch) -> int:
        """Apply one batch in one transaction; return the number of lines stored."""
        conn = self.connection()
        with conn:
            for key, meta in batch.sources.items():
                self._source_id(conn, key, meta)
            ids = {key: self._source_id(conn, key, {}) for key, *_ in batch.lines}
            rows = [
                (ids[key], ns, STREAMS.get(stream, 1), text)
                for key, ns, stream, text in batch.lines
            ]
            if rows:
                last = conn.execute("SELECT coalesce(max(id), 0) FROM log_lines").fetchone()[0]
                conn.executemany(
                    "INSERT INTO log_lines (source_id, time_ns, stream, line) VALUES (?, ?, ?, ?)",
                    rows,
                )
                conn.execute(
                    "INSERT INTO log_fts (rowid, line) SELECT id, line FROM log_lines WHERE id > ?",
                    (last,),
                )
            now = time.time_ns()
            for key, (ns, seen) in batch.cursors.items():
                conn.execute(
                    "UPDATE log_sources SET cursor_ns = ?, cursor_seen = ?, updated_ns = ? "
                    "WHERE id = ?",
                    (ns, seen, now, self._source_id(conn, key, {})),
                )
            for key, count in batch.dropped.items():
                conn.execute(
                    "UPDATE log_sources SET dropped = dropped + ? WHERE id = ?",
                    (count, self._source_id(conn, key, {})),
                )
        return len(rows)

    # -------------------------------------------------------------- pruning
    def size_bytes(self) -> int:
        """Bytes the database's pages in use take (the file minus its free pages)."""
        conn = self.connection()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    def _delete_chunk(self, where: str, args: tuple[Any, ...], limit: int = PRUNE_CHUNK) -> int:
        conn = self.connection()
        with conn:
            rows = conn.execute(
                f"SELECT id, line FROM log_lines WHERE {where} ORDER BY id LIMIT ?",  # noqa: S608 - fixed clauses
                (*args, limit),
            ).fetchall()
            if not rows:
                return 0
            conn.executemany(
                "INSERT INTO log_fts (log_fts, rowid, line) VALUES ('delete', ?, ?)", rows
            )
            conn.executemany("DELETE FROM log_lines WHERE id = ?", [(r[0],) for r in rows])
        return len(rows)

    def prune(self, *, max_age_s: float, max_bytes: int, now_ns: int | None = None) -> int:
        """Delete lines older than ``max_age_s``, then the oldest until under ``max_bytes``.

        Returns:
            The number of lines deleted.
        """
        now_ns = time.time_ns() if now_ns is None else now_ns
        cutoff = now_ns - int(max_age_s * 1e9)
        deleted = 0
        while (count := self._delete_chunk("time_ns < ?", (cutoff,))) > 0:
            deleted += count
        while self.size_bytes() > max_bytes:
            # About 5 % of the lines at a time, so the cut lands close under the bound.
            low, high = (
                self.connection()
                .execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM log_lines")
                .fetchone()
            )
            count = self._delete_chunk("1 = 1", (), max(100, min(PRUNE_CHUNK, (high - low) // 20)))
            deleted += count
            # Deleted rows leave tombstones in the FTS index until its segments are merged.
            self._merge_index("optimize" if count == 0 else "merge")
            if count == 0:
                break
        if deleted:
            self._merge_index("merge")
        conn = self.connection()
        with conn:
            # Sources with no lines left and not heard of for the retention are forgotten.
            conn.execute(
                "DELETE FROM log_sources WHERE updated_ns < ? AND NOT EXISTS "
                "(SELECT 1 FROM log_lines WHERE source_id = log_sources.id)",
                (cutoff,),
            )
        self._source_ids.clear()
        if deleted:
            # Copy the WAL into the file so the vacuumed file really shrinks on disk.
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    def _merge_index(self, how: str) -> None:
        """Fold the FTS index's delete markers into its segments, and free emptied pages."""
        conn = self.connection()
        with conn:
            if how == "optimize":
                conn.execute("INSERT INTO log_fts (log_fts) VALUES ('optimize')")
            else:
                conn.execute(
                    "INSERT INTO log_fts (log_fts, rank) VALUES ('merge', ?)", (-MERGE_PAGES,)
                )
        conn.executescript("PRAGMA incremental_vacuum;")  # runs every step (one page each)

    # ---------------------------------------------------------------- stats
    def stats(self) -> dict[str, Any]:
        """Lines, bytes, oldest and newest line, sources and dropped lines in total."""
        conn = self.connection()
        lines, oldest, newest = conn.execute(
            "SELECT count(*), min(time_ns), max(time_ns) FROM log_lines"
        ).fetchone()
        sources, dropped = conn.execute(
            "SELECT count(*), coalesce(sum(dropped), 0) FROM log_sources"
        ).fetchone()
        return {
            "lines": int(lines),
            "bytes": self.size_bytes(),
            "oldest_ns": oldest,
            "newest_ns": newest,
            "sources": int(sources),
            "dropped": int(dropped),
        }
