"""What carries the server's calls to one agent: the :class:`Transport` protocol.

Today it is :class:`~fleetdeck.server.fleet.links.AgentLink`, the mutually authenticated link
the server dials; next it may be an edge tunnel the agent dials. Everything above it (the
typed :class:`~fleetdeck.server.fleet.agent_client.AgentClient`, and through it every part
of the server) sees only this protocol: no HTTP client types cross it.

A transport keeps the link's promises: a call fails fast (``NodeUnreachableError``) while
the node is known to be unreachable, a call or stream in flight is abandoned when the node
is lost, and the agent's error answers are raised as fleetdeck errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable
    from contextlib import AbstractAsyncContextManager

    from pydantic import TypeAdapter
    from websockets.asyncio.client import ClientConnection

T = TypeVar("T")

#: How long a call waits for its answer unless it asks for longer.
CALL_TIMEOUT_S = 30.0


class Transport(Protocol):
    """The operations a connection to one node's agent offers."""

    @property
    def where(self) -> str:
        """``ENV/NODE`` for messages."""
        ...

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        timeout: float = CALL_TIMEOUT_S,
    ) -> Awaitable[Any]:
        """One request; its JSON answer (None when empty). ``content`` is a raw body."""
        ...

    def stream_lines(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        name: str = "lines",
        check: TypeAdapter[Any] | None = None,
    ) -> AsyncIterator[str]:
        """A streamed NDJSON answer line by line; bad lines (``check``) counted and skipped."""
        ...

    def stream_messages(
        self,
        method: str,
        path: str,
        adapter: TypeAdapter[T],
        *,
        name: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> AsyncIterator[T]:
        """A streamed NDJSON answer, each line validated into ``adapter``'s model."""
        ...

    def websocket(
        self, path: str, params: list[tuple[str, str]] | None = None
    ) -> AbstractAsyncContextManager[ClientConnection]:
        """A websocket to an agent route (the console); fails fast like :meth:`call`."""
        ...
