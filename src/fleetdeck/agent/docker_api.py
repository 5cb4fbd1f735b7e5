"""The one door to a Docker engine: requests over aiodocker, with engine errors mapped.

Every call the agent makes to its engine goes through :class:`DockerAPI`, so that every engine
failure becomes one of fleetdeck's error kinds in exactly one place: 404 → NotFoundError,
409 → ConflictError, 400 → InvalidInputError, no answer → NodeUnreachableError.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import aiodocker
import aiohttp
from aiodocker.exceptions import DockerError

from fleetdeck.errors import (
    ConflictError,
    FleetdeckError,
    InvalidInputError,
    NodeUnreachableError,
    NotFoundError,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Mapping

#: aiodocker's status for "could not connect to the engine".
_NO_CONNECTION = 900
#: Ordinary requests answer within this; streams (logs, events, pulls) have no limit.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=5)
STREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=5, sock_read=None)


def engine_error(exc: DockerError, docker_host: str, *, swarm: bool = False) -> FleetdeckError:
    """Map an engine error to a fleetdeck error kind (engine messages are safe to show)."""
    message = exc.message if isinstance(exc.message, str) else str(exc.message)
    message = message.strip() or f"engine answered {exc.status}"
    if exc.status == _NO_CONNECTION:
        return NodeUnreachableError(f"the Docker engine at {docker_host} does not answer")
    if exc.status == 404:
        return NotFoundError(message)
    if exc.status == 409:
        return ConflictError(message)
    if exc.status == 400:
        return InvalidInputError(message)
    if exc.status == 503 and swarm:
        # The engine answers 503 when it is not a swarm manager (or not in a swarm).
        return ConflictError(message, hint="swarm routes need a swarm manager")
    return FleetdeckError(f"Docker engine error: {message}")


class DockerAPI:
    """Requests to one engine, given by its ``docker_host`` URL (``unix:///path``).

    The aiodocker client (and its aiohttp session) is made on first use, inside the event
    loop, and reused; after the engine restarts, requests simply reconnect.
    """

    def __init__(self, docker_host: str) -> None:
        self.docker_host = docker_host
        self._client: aiodocker.Docker | None = None

    @property
    def docker(self) -> aiodocker.Docker:
        """The aiodocker client (made on first use, inside the running loop)."""
        if self._client is None:
            self._client = aiodocker.Docker(url=self.docker_host, timeout=REQUEST_TIMEOUT)
        return self._client

    async def close(self) -> None:
        """Close the connection pool to the engine."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    @contextlib.contextmanager
    def errors(self, *, swarm: bool = False) -> Iterator[None]:
        """Translate engine and connection failures inside the block to fleetdeck errors."""
        try:
            yield
        except DockerError as exc:
            raise engine_error(exc, self.docker_host, swarm=swarm) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise NodeUnreachableError(
                f"the Docker engine at {self.docker_host} does not answer ({exc!r})"
            ) from exc

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        swarm: bool = False,
        versioned: bool = True,
    ) -> Any:
        """One request whose answer is JSON (or empty); return the decoded answer."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        with self.errors(swarm=swarm):
            return await self.docker._query_json(
                path,
                method,
                params=clean or None,
                data=body,
                headers=headers,
                versioned_api=versioned,
            )

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        swarm: bool = False,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A request whose body is a stream; errors before and while reading are mapped."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        with self.errors(swarm=swarm):
            async with self.docker._query(
                path,
                method,
                params=clean or None,
                data=body,
                headers=headers,
                timeout=STREAM_TIMEOUT,
            ) as response:
                try:
                    yield response
                finally:
                    response.close()
