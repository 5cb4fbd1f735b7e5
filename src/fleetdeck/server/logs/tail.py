"""The live merged tail: lines from every agent stream, as they arrive, to whoever follows.

The collector publishes every line it receives (before it is written: a tail shows lines as
soon as the server has them). Each follower has its own filter (a :class:`LogQuery`: a stack,
a service, a list of containers…) and its own bounded queue; a follower that does not keep
up loses lines, counted, instead of slowing ingest or the other followers.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fleetdeck.server.logs.query import LogQuery

#: Lines held for one follower before new ones are dropped for it.
FOLLOWER_QUEUE = 10_000


class TailFollower:
    """One live tail: its filter, its queue and what it lost."""

    def __init__(self, query: LogQuery, size: int = FOLLOWER_QUEUE) -> None:
        self.query = query
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(size)
        self.dropped = 0

    def offer(self, hit: dict[str, Any]) -> None:
        """Queue a line if it passes the filter (drop and count it if the queue is full)."""
        if not self.query.matches(hit):
            return
        try:
            self.queue.put_nowait(hit)
        except asyncio.QueueFull:
            self.dropped += 1


class TailHub:
    """Every live tail of the server."""

    def __init__(self) -> None:
        self._followers: set[TailFollower] = set()

    def follow(self, query: LogQuery) -> TailFollower:
        """Start a tail with this filter."""
        follower = TailFollower(query)
        self._followers.add(follower)
        return follower

    def unfollow(self, follower: TailFollower) -> None:
        """End a tail."""
        self._followers.discard(follower)

    @property
    def active(self) -> bool:
        """Whether anyone follows (the collector builds hits only then)."""
        return bool(self._followers)

    def publish(self, hits: list[dict[str, Any]]) -> None:
        """Hand freshly received lines to every tail."""
        for follower in list(self._followers):
            for hit in hits:
                follower.offer(hit)
