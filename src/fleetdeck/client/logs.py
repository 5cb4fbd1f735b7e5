"""Client methods for fleet-wide logs (``/logs/search``, ``/logs/tail``, ``/logs/stats``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python

from fleetdeck.client.base import BaseClient, parse, raise_if_stream_error
from fleetdeck.wire.logs import LogHit, LogSearchResult, LogStoreStats

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

#: The keys of a hit in ``fleetdeck logs --search -o json`` (a CLI contract).
HIT_KEYS = ("environment", "node", "container", "stream", "time", "line")


def hit_contract(hit: LogHit) -> dict[str, Any]:
    """The hit with exactly the contract's keys (``time`` as ISO 8601, UTC written ``Z``)."""
    data = hit.model_dump(mode="json")
    # The contract's form of a time is pydantic's (``Z``), not the server's ``+00:00``.
    data["time"] = to_jsonable_python(hit.time)
    return {key: data[key] for key in HIT_KEYS}


def _when(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _filters(
    environment: str | None,
    node: str | None,
    containers: Sequence[str],
    stack: str | None,
    service: str | None,
    stream: str | None,
) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = [
        ("environment", environment),
        ("node", node),
        ("stack", stack),
        ("service", service),
        ("stream", stream),
    ]
    return pairs + [("container", c) for c in containers]


class LogsAPI(BaseClient):
    """Routes under ``/logs``."""

    def search_logs(
        self,
        text: str = "",
        *,
        raw: bool = False,
        environment: str | None = None,
        node: str | None = None,
        containers: Sequence[str] = (),
        stack: str | None = None,
        service: str | None = None,
        stream: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> LogSearchResult:
        """``GET /logs/search``: stored lines matching every word of ``text`` and the filters.

        ``since``/``until`` take a time, ISO 8601 text, epoch seconds or a duration ago
        (``15m``). ``raw`` makes ``text`` an FTS5 expression.
        """
        params = [
            ("q", text),
            ("raw", raw or None),
            *_filters(environment, node, containers, stack, service, stream),
            ("since", _when(since)),
            ("until", _when(until)),
            ("limit", limit),
            ("offset", offset),
        ]
        return parse(LogSearchResult, self._request("GET", "/logs/search", params=params))

    def tail_logs(
        self,
        *,
        text: str = "",
        environment: str | None = None,
        node: str | None = None,
        containers: Sequence[str] = (),
        stack: str | None = None,
        service: str | None = None,
        stream: str | None = None,
        backlog: int | None = None,
    ) -> Iterator[LogHit | int]:
        """``GET /logs/tail``: the last stored lines, then live lines of every node, merged.

        Yields hits, and an ``int`` (lines lost) when the server says this client was too
        slow. It runs until the caller stops iterating.
        """
        params = [
            ("q", text or None),
            *_filters(environment, node, containers, stack, service, stream),
            ("backlog", backlog),
        ]
        for item in self._stream("GET", "/logs/tail", params=params):
            raise_if_stream_error(item)
            if "dropped" in item:
                yield int(item["dropped"])
            else:
                yield parse(LogHit, item)

    def log_stats(self) -> LogStoreStats:
        """``GET /logs/stats``."""
        return parse(LogStoreStats, self._request("GET", "/logs/stats"))
