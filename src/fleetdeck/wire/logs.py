"""Fleet-wide logs: search hits, a search page, the log store's figures.

The server writes times as ``datetime.isoformat()`` (UTC, microseconds, ``+00:00``), the form
the log store keeps; the client reads them as datetimes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from fleetdeck.wire.base import IsoDatetime  # noqa: TC001 - pydantic needs it at run time


class LogHit(BaseModel):
    """One collected line and where it came from.

    ``marks`` are the ``[start, end)`` character spans of the words a search matched.
    """

    id: int | None = None
    environment: str
    node: str
    container: str
    container_id: str
    stack: str | None = None
    service: str | None = None
    stream: str
    time: IsoDatetime
    line: str
    marks: list[list[int]] = Field(default_factory=list)


class LogSearchResult(BaseModel):
    """``GET /logs/search``: hits newest first; ``next_offset`` is None on the last page."""

    items: list[LogHit]
    next_offset: int | None = None


class LogStoreStats(BaseModel):
    """``GET /logs/stats``: the store's size and age span, and the lines agents dropped."""

    lines: int
    bytes: int
    oldest: IsoDatetime | None = None
    newest: IsoDatetime | None = None
    sources: int
    dropped: int
    retention_days: float
    max_bytes: int
    nodes: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: When the pruner last ran (None before its first run): retention is visibly at work.
    last_pruned: IsoDatetime | None = None
