"""Log searches: the query model, user text made into a safe FTS5 expression, and the SQL.

User text is never passed to FTS5 as syntax (an unbalanced quote or a word like ``AND``,
``NEAR`` or ``-x`` would be a syntax error or an operator): each whitespace-separated word
becomes a quoted phrase (``"`` doubled inside), all of which must occur; a trailing ``*``
keeps its meaning of "word starting with". ``raw=True`` passes the text as an FTS5 expression
(AND/OR/NOT, NEAR, column filters) for those who want it; its syntax errors are
InvalidInputError, never a server error. Results are newest first (by arrival).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.logs.store import STREAM_NAMES, STREAMS

if TYPE_CHECKING:
    from fleetdeck.server.logs.store import LogStore

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MARK_START, MARK_END = "\x02", "\x03"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_when(value: str | None, name: str, now: datetime | None = None) -> datetime | None:
    """ISO 8601, epoch seconds, or a duration ago (``15m``, ``2h``, ``7d``); else InvalidInput."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    now = now or datetime.now(UTC)
    matched = _DURATION.match(text)
    if matched:
        return now - timedelta(seconds=float(matched.group(1)) * _UNITS[matched.group(2)])
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"{name} must be an ISO 8601 time, epoch seconds or a duration like 15m, not {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def fts_expression(text: str) -> str | None:
    """User text as an FTS5 expression that matches lines holding every word (None: no text).

    Raises:
        InvalidInputError: The text has words but none with a letter or digit to search for.
    """
    phrases = []
    for word in text.split():
        prefix = word.endswith("*") and len(word) > 1
        core = word[:-1] if prefix else word
        if not any(ch.isalnum() for ch in core):
            continue  # punctuation alone: FTS5 indexes no token for it
        phrases.append('"' + core.replace('"', '""') + '"' + ("*" if prefix else ""))
    if not phrases:
        if text.strip():
            raise InvalidInputError(
                f"nothing to search for in {text!r}: words need a letter or a digit"
            )
        return None
    return " ".join(phrases)


def to_ns(when: datetime) -> int:
    """Epoch nanoseconds of an aware time."""
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000


def ns_to_iso(ns: int) -> str:
    """ISO 8601 (UTC, microseconds) of epoch nanoseconds."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000).isoformat()


@dataclass
class LogQuery:
    """What to search for or tail; every filter is optional.

    ``containers`` match a container's name exactly or its id by prefix.
    """

    text: str = ""
    raw: bool = False
    environment: str | None = None
    node: str | None = None
    containers: list[str] = field(default_factory=list)
    stack: str | None = None
    service: str | None = None
    stream: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def validate(self) -> LogQuery:
        """Check the query before it runs; InvalidInputError names what is wrong."""
        if self.stream is not None and self.stream not in STREAMS:
            raise InvalidInputError(f"stream must be stdout or stderr, not {self.stream!r}")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidInputError(
                f"the time range is empty or inverted: since {self.since.isoformat()} is not "
                f"before until {self.until.isoformat()}"
            )
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInputError(f"limit must be 1 to {MAX_LIMIT}, not {self.limit}")
        if self.offset < 0:
            raise InvalidInputError(f"offset must be 0 or more, not {self.offset}")
        if not self.raw:
            fts_expression(self.text)
        elif not self.text.strip():
            raise InvalidInputError("an advanced (raw) search needs an FTS5 expression")
        return self

    def matches(self, hit: dict[str, Any]) -> bool:
        """Whether a live line (a hit dict) passes the filters (for the tail)."""
        for name in ("environment", "node", "stack", "service", "stream"):
            wanted = getattr(self, name)
            if wanted is not None and hit.get(name) != wanted:
                return False
        if self.containers and not any(
            hit.get("container") == ref or str(hit.get("container_id", "")).startswith(ref)
            for ref in self.containers
        ):
            return False
        line = str(hit.get("line", "")).lower()
        return all(word.strip('"*').lower() in line for word in self.text.split())

    def where(self) -> tuple[list[str], list[Any]]:
        """SQL conditions and their arguments for every filter but the text."""
        clauses: list[str] = []
        args: list[Any] = []
        for column in ("environment", "node", "stack", "service"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"s.{column} = ?")
                args.append(value)
        if self.containers:
            refs = " OR ".join("s.name = ? OR s.container_id LIKE ?" for _ in self.containers)
            clauses.append(f"({refs})")
            for ref in self.containers:
                args += [ref, ref.replace("%", "").replace("_", "") + "%"]
        if self.stream is not None:
            clauses.append("l.stream = ?")
            args.append(STREAMS[self.stream])
        if self.since is not None:
            clauses.append("l.time_ns >= ?")
            args.append(to_ns(self.since))
        if self.until is not None:
            clauses.append("l.time_ns < ?")
            args.append(to_ns(self.until))
        return clauses, args


def _marks(highlighted: str | None) -> list[list[int]]:
    """Character spans of the matched words, from FTS5's highlight() output."""
    if not highlighted:
        return []
    spans: list[list[int]] = []
    plain = 0
    start = 0
    for ch in highlighted:
        if ch == MARK_START:
            start = plain
        elif ch == MARK_END:
            spans.append([start, plain])
        else:
            plain += 1
    return spans


_COLUMNS = (
    "SELECT l.id, s.environment, s.node, s.name, s.container_id, s.stack, s.service, "
    "l.stream, l.time_ns, l.line, "
)
_FTS_SELECT = _COLUMNS + (
    "highlight(log_fts, 0, char(2), char(3)) FROM log_fts "
    "JOIN log_lines l ON l.id = log_fts.rowid JOIN log_sources s ON s.id = l.source_id"
)
_PLAIN_SELECT = _COLUMNS + "NULL FROM log_lines l JOIN log_sources s ON s.id = l.source_id"


def search(store: LogStore, query: LogQuery) -> tuple[list[dict[str, Any]], bool]:
    """Run a search on this thread; return the hits (newest first) and whether more exist."""
    clauses, args = query.where()
    match = query.text.strip() if query.raw else fts_expression(query.text)
    # Only fixed clauses are joined into the SQL; every value is a bound parameter.
    if match is not None:
        clauses.insert(0, "log_fts MATCH ?")
        args = [match, *args]
        sql = _FTS_SELECT + " WHERE " + " AND ".join(clauses)  # noqa: S608
        sql += " ORDER BY log_fts.rowid DESC LIMIT ? OFFSET ?"
    else:
        sql = _PLAIN_SELECT + "".join((" WHERE ", " AND ".join(clauses)) if clauses else ())
        sql += " ORDER BY l.id DESC LIMIT ? OFFSET ?"
    try:
        rows = store.connection().execute(sql, (*args, query.limit + 1, query.offset)).fetchall()
    except sqlite3.OperationalError as exc:
        if "fts5" in str(exc) or "syntax" in str(exc) or "no such column" in str(exc):
            raise InvalidInputError(
                f"bad search expression {query.text!r}: {exc}",
                hint="without raw mode, any text is searched for word by word",
            ) from None
        raise
    hits = [hit_from_row(row) for row in rows[: query.limit]]
    return hits, len(rows) > query.limit


def hit_from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """One search hit as the API serves it."""
    line_id, env, node, name, cid, stack, service, stream, ns, line, highlighted = row
    return {
        "id": line_id,
        "environment": env,
        "node": node,
        "container": name,
        "container_id": cid,
        "stack": stack,
        "service": service,
        "stream": STREAM_NAMES.get(stream, "stdout"),
        "time": ns_to_iso(ns),
        "line": line,
        "marks": _marks(highlighted),
    }
