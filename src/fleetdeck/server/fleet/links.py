"""The server's mutually authenticated links to agents.

One :class:`AgentLink` per node: a long-lived inventory stream (reconnected with backoff after
any outage, each reconnect starting from a fresh snapshot) and operation calls that fail fast
while the node is known to be unreachable, so one dead node never slows the others. A call
already in flight when the stream marks the node unreachable is abandoned at that moment: a
partitioned node never answers, and waiting out a long call's own timeout (ten minutes for a
container stop or an image build, none for a pull) would hang a deploy for nothing.

Every line read from an agent is capped in length and validated against its model
(:mod:`fleetdeck.server.fleet.agent_streams`): a bad one is counted, logged sparingly and
skipped. The task that follows the stream is a supervised
:class:`~fleetdeck.server.loops.BackgroundLoop` (``link ENV/NODE``): should it die of an
unexpected error, the error is logged and the task started again with backoff, so no message,
however strange, can leave a node unreachable until the server restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

import httpx
from cryptography import x509
from websockets.asyncio.client import connect as ws_connect

from fleetdeck import __version__
from fleetdeck.errors import (
    AgentIncompatibleError,
    FleetdeckError,
    NodeUnreachableError,
    PermissionDeniedError,
    error_for_kind,
)
from fleetdeck.protocol import OLDEST_AGENT_PROTOCOL, agent_protocol, is_compatible
from fleetdeck.server.fleet.agent_client import INVENTORY_STREAM_PATH, AgentClient
from fleetdeck.server.fleet.agent_streams import MAX_LINE_BYTES, StreamRejects, capped_lines, parse
from fleetdeck.server.fleet.hub import LinkAdded, LinkRemoved
from fleetdeck.server.fleet.inventory import INVENTORY_MESSAGE, FleetInventory, NodeStatus
from fleetdeck.server.fleet.transport import CALL_TIMEOUT_S
from fleetdeck.server.loops import BackgroundLoop, Backoff
from fleetdeck.wire.streams import InfoMessage, MetricsMessage, SnapshotMessage

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
    from pathlib import Path

    from pydantic import TypeAdapter
    from websockets.asyncio.client import connect as Connect

    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.wire.fleet import AgentInfo

log = logging.getLogger("fleetdeck.server.links")
T = TypeVar("T")

#: The agent sends a heartbeat every 2 s; this much silence means the node is unreachable.
STREAM_SILENCE_S = 6.0
CONNECT_TIMEOUT_S = 3.0
#: A console's websocket to an agent is pinged this often, and lost after this long without a
#: pong (a cut-off node sends no reset): its client is told within 15 s, not websockets' 40.
CONSOLE_PING_S = 5.0
CONSOLE_PONG_TIMEOUT_S = 10.0
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 5.0


@dataclass(frozen=True)
class ClientTLS:
    """What the server presents to agents and trusts of them."""

    ca_cert: Path
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        """A TLS client context: our certificate, and only our CA trusted."""
        ctx = ssl.create_default_context(cafile=str(self.ca_cert))
        ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


def _check_protocol(info: AgentInfo, where: str) -> None:
    """Refuse an agent whose protocol this server no longer speaks (see fleetdeck.protocol)."""
    protocol = agent_protocol(info.agent_protocol)
    if not is_compatible(protocol):
        raise AgentIncompatibleError(
            f"the agent on {where} ({info.agent_version or 'unknown version'}) speaks protocol "
            f"{protocol}; this server ({__version__}) needs protocol {OLDEST_AGENT_PROTOCOL} "
            "or newer",
            hint="upgrade the agent on that host to the server's version",
        )


def _raise_for_agent(response: httpx.Response, where: str) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
        kind, message = str(body.get("error", "error")), str(body.get("message", ""))
    except ValueError:
        kind, message = "error", response.text[:200]
    if kind == "internal" or response.status_code >= 500 and kind == "error":
        raise FleetdeckError(f"the agent on {where} failed: {message or response.status_code}")
    raise error_for_kind(kind, message or f"agent answered {response.status_code}")


class _Incompatible(Exception):
    """The stream's agent is refused: its error, and the host information it sent."""

    def __init__(self, error: AgentIncompatibleError, info: AgentInfo) -> None:
        super().__init__(str(error))
        self.info = info


class AgentLink:
    """The server's link to one node's agent."""

    def __init__(
        self,
        environment: str,
        node: str,
        url: str,
        tls: ClientTLS,
        inventory: FleetInventory,
        cert_serial: str | None = None,
        *,
        loops: LoopRegistry | None = None,
    ) -> None:
        self.environment = environment
        #: The serial of the certificate enrolled for this node: any other certificate, even
        #: one from our CA (a revoked agent, one on a reused address), is refused.
        self.cert_serial = cert_serial or None
        self.node = node
        #: Messages refused on this node's streams (bad JSON, wrong shape, too long).
        self.rejects = StreamRejects(self.where)
        self.url = url.rstrip("/")
        self.inventory = inventory
        self._tls = tls
        self._client = httpx.AsyncClient(
            base_url=self.url,
            verify=tls.context(),
            timeout=httpx.Timeout(CALL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        )
        self._loops = loops
        self._loop = BackgroundLoop(
            f"link {self.where}", body=self._follow, backoff=Backoff(BACKOFF_MIN_S, BACKOFF_MAX_S),
            on_crash=self._crashed,
        )  # fmt: skip
        self._closed = False
        #: Time of the newest metrics sample received: a reconnect asks only for later ones.
        self.metrics_since: str | None = None
        #: Set when the stream loses the node; a fresh event once the stream is back. Calls in
        #: flight wait on the event of the period they started in.
        self._lost = asyncio.Event()
        self._agent = AgentClient(self, protocol=self.agent_protocol)

    @property
    def where(self) -> str:
        """``ENV/NODE`` for messages."""
        return f"{self.environment}/{self.node}"

    def agent_protocol(self) -> int:
        """The protocol the node's agent last reported (the oldest one served, before it has)."""
        state = self.inventory.find_node(self.environment, self.node)
        if state is None or state.info is None:
            return OLDEST_AGENT_PROTOCOL
        return agent_protocol(state.info.agent_protocol)

    @property
    def agent(self) -> AgentClient:
        """The typed client of this node's agent, over this link."""
        return self._agent

    @property
    def restarts(self) -> int:
        """Times the stream task died of an unexpected error and was started again."""
        return self._loop.restarts

    @property
    def _task(self) -> asyncio.Task[None] | None:
        """The task following the stream (None before :meth:`start` and after :meth:`close`)."""
        return self._loop.task

    def start(self) -> None:
        """Start following the agent's inventory stream in the background."""
        if self._loop.task is None:
            self.inventory.node(self.environment, self.node)
            if self._loops is not None:
                self._loops.add(self._loop)
            self._loop.start()

    async def close(self) -> None:
        """Stop following and close connections."""
        self._closed = True
        await self._loop.stop()
        if self._loops is not None:
            self._loops.discard(self._loop)
        await self._client.aclose()

    def _crashed(self, _: Exception) -> None:
        """The stream task died (its loop logged it and restarts it): the node is unreachable."""
        error = "the server's link to the agent failed; restarting it"
        self.inventory.mark_unreachable(self.environment, self.node, error)
        self._lost.set()

    async def _follow(self) -> None:
        backoff = BACKOFF_MIN_S
        while True:
            try:
                await self._consume_stream()
                error = "the agent closed its inventory stream"
            except _Incompatible as exc:
                # Not followed, and asked again only as often as the slowest retry: the
                # operator has to upgrade that agent, and its node says why until then.
                self.inventory.mark_incompatible(self.environment, self.node, exc.info, str(exc))
                self._lost.set()
                log.warning("link %s: %s", self.where, exc)
                await asyncio.sleep(BACKOFF_MAX_S)
                continue
            except (httpx.HTTPError, OSError, ValueError, FleetdeckError) as exc:
                error = _describe(exc)
            self.inventory.mark_unreachable(self.environment, self.node, error)
            self._lost.set()
            log.warning("link %s: %s; retrying in %.1fs", self.where, error, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            state = self.inventory.find_node(self.environment, self.node)
            if state is not None and state.status is NodeStatus.up:
                backoff = BACKOFF_MIN_S

    async def _consume_stream(self) -> None:
        timeout = httpx.Timeout(CALL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S, read=STREAM_SILENCE_S)
        params = {"metrics_since": self.metrics_since} if self.metrics_since else None
        async with self._client.stream(
            "GET", INVENTORY_STREAM_PATH, params=params, timeout=timeout
        ) as resp:
            self._check_peer(resp)
            if not resp.is_success:
                await resp.aread()
                _raise_for_agent(resp, self.where)
            async for line in capped_lines(resp.aiter_bytes(), MAX_LINE_BYTES):
                if line is None:
                    self.rejects.reject("inventory", f"a line over {MAX_LINE_BYTES} bytes")
                    continue
                if not line.strip():
                    continue
                try:
                    message = parse(line, INVENTORY_MESSAGE)
                except ValueError as exc:
                    self.rejects.reject("inventory", str(exc))
                    continue
                if isinstance(message, SnapshotMessage | InfoMessage):
                    try:
                        _check_protocol(message.info, self.where)
                    except AgentIncompatibleError as exc:
                        raise _Incompatible(exc, message.info) from exc
                if self._lost.is_set():
                    self._lost = asyncio.Event()
                self.inventory.apply(self.environment, self.node, message)
                if isinstance(message, MetricsMessage):
                    self.metrics_since = message.time

    def _check_peer(self, response: httpx.Response) -> None:
        """Refuse an agent whose certificate is not the one enrolled for this node."""
        if self.cert_serial is None:
            return
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        serial = str(x509.load_der_x509_certificate(der).serial_number) if der else None
        if serial != self.cert_serial:
            raise PermissionDeniedError(
                f"the agent at {self.url} is not the one enrolled as {self.where}: its "
                "certificate was revoked or replaced",
                hint="enrol the agent again with a new join token",
            )

    def _fail_fast(self) -> None:
        if self._closed:  # the node was removed or re-enrolled; a follower may not know yet
            raise NodeUnreachableError(f"the link to node {self.where} is closed")
        state = self.inventory.find_node(self.environment, self.node)
        if state is not None and state.status is NodeStatus.incompatible:
            raise AgentIncompatibleError(
                state.error or f"the agent on {self.where} is too old for this server",
                hint="the operation was not attempted; upgrade the node's agent first",
            )
        if state is not None and state.status is NodeStatus.unreachable:
            since = state.last_seen.isoformat() if state.last_seen else "never"
            raise NodeUnreachableError(
                f"node {self.where} is unreachable (last seen {since}): {state.error}",
                hint="the operation was not attempted; retry once the node is back",
            )

    async def _unless_lost(self, work: Awaitable[T], lost: asyncio.Event) -> T:
        """Await ``work``, abandoning it when ``lost`` is set (the stream lost the node)."""
        task = asyncio.ensure_future(work)
        watch = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, watch):
                if not pending.done():
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                        await pending
        if task.cancelled():  # the watch won: the node was lost first
            state = self.inventory.find_node(self.environment, self.node)
            why = state.error if state is not None and state.error else "no answer"
            raise NodeUnreachableError(
                f"node {self.where} became unreachable during the call ({why})",
                hint="the call was abandoned: it may or may not have taken effect on the node; "
                "retry once the node is back",
            )
        return task.result()

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        timeout: float = CALL_TIMEOUT_S,
    ) -> Any:
        """Call an agent route and return its JSON body (or None), mapping its errors.

        ``content`` is a raw body (a build context's tar) sent instead of ``json_body``.
        """
        self._fail_fast()
        request = self._client.request(
            method,
            path,
            params=_clean(params),
            json=json_body,
            content=content,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_S),
        )
        try:
            resp = await self._unless_lost(request, self._lost)
        except httpx.HTTPError as exc:
            raise NodeUnreachableError(f"node {self.where}: {_describe(exc)}") from exc
        self._check_peer(resp)
        _raise_for_agent(resp, self.where)
        if not resp.content:
            return None
        return resp.json()

    async def stream_lines(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        name: str = "lines",
        check: TypeAdapter[Any] | None = None,
    ) -> AsyncGenerator[str, None]:
        """Stream an agent route's NDJSON response line by line (logs, pull progress).

        Lines over :data:`MAX_LINE_BYTES` are skipped, and with ``check`` so are lines that
        are not valid for it; both are counted in :attr:`rejects` under ``name``.
        """
        self._fail_fast()
        lost = self._lost
        request = self._client.build_request(
            method,
            path,
            params=_clean(params),
            json=json_body,
            timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT_S),
        )
        try:
            resp = await self._unless_lost(self._client.send(request, stream=True), lost)
            try:
                self._check_peer(resp)
                if not resp.is_success:
                    await resp.aread()
                    _raise_for_agent(resp, self.where)
                lines = capped_lines(resp.aiter_bytes(), MAX_LINE_BYTES)
                while True:
                    try:
                        line = await self._unless_lost(anext(lines), lost)
                    except StopAsyncIteration:
                        break
                    if line is None:
                        self.rejects.reject(name, f"a line over {MAX_LINE_BYTES} bytes")
                    elif line.strip() and self._valid(line, name, check):
                        yield line
            finally:
                await resp.aclose()
        except httpx.HTTPError as exc:
            raise NodeUnreachableError(f"node {self.where}: {_describe(exc)}") from exc

    def _valid(self, line: str, name: str, check: TypeAdapter[Any] | None) -> bool:
        if check is None:
            return True
        try:
            parse(line, check)
        except ValueError as exc:
            self.rejects.reject(name, str(exc))
            return False
        return True

    async def stream_messages(
        self,
        method: str,
        path: str,
        adapter: TypeAdapter[T],
        *,
        name: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> AsyncIterator[T]:
        """Like :meth:`stream_lines`, each line validated into ``adapter``'s model.

        A line that is not one is counted in :attr:`rejects` under ``name`` and skipped.
        """
        lines = self.stream_lines(method, path, params=params, json_body=json_body, name=name)
        async with contextlib.aclosing(lines):
            async for line in lines:
                try:
                    message = parse(line, adapter)
                except ValueError as exc:
                    self.rejects.reject(name, str(exc))
                    continue
                yield message

    def websocket(self, path: str, params: list[tuple[str, str]] | None = None) -> Connect:
        """Connect a websocket to an agent route over the same mutual TLS (the console).

        Use as ``async with link.websocket(path) as ws:``; fails fast like :meth:`call`.
        """
        self._fail_fast()
        query = ("?" + urlencode(params)) if params else ""
        url = "wss://" + self.url.removeprefix("https://") + path + query
        return ws_connect(
            url,
            ssl=self._tls.context(),
            open_timeout=CONNECT_TIMEOUT_S,
            max_size=2**20,
            ping_interval=CONSOLE_PING_S,
            ping_timeout=CONSOLE_PONG_TIMEOUT_S,
        )


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("1" if value else "0") if isinstance(value, bool) else value
    return out


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, httpx.ReadTimeout):
        return f"no answer for {STREAM_SILENCE_S:.0f}s"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    return str(exc) or type(exc).__name__


class FleetLinks:
    """Every agent link of the server, by (environment, node).

    Adding and removing a link is published on the inventory's hub (``LinkAdded``,
    ``LinkRemoved`` of :mod:`fleetdeck.server.fleet.hub`).
    """

    def __init__(
        self, tls: ClientTLS, inventory: FleetInventory, loops: LoopRegistry | None = None
    ) -> None:
        self.tls = tls
        self.inventory = inventory
        #: Where each link's stream loop is registered (health report, ``/metrics``).
        self.loops = loops
        self._links: dict[tuple[str, str], AgentLink] = {}

    def add(
        self, environment: str, node: str, url: str, cert_serial: str | None = None
    ) -> AgentLink:
        """Start (or return) the link to a node's agent, pinned to its certificate's serial."""
        key = (environment, node)
        if key not in self._links:
            link = AgentLink(
                environment, node, url, self.tls, self.inventory, cert_serial, loops=self.loops
            )
            self._links[key] = link
            link.start()
            self.inventory.hub.publish(LinkAdded(environment, node))
        return self._links[key]

    def get(self, environment: str, node: str) -> AgentLink:
        """The link to a node, or NotFoundError."""
        from fleetdeck.errors import NotFoundError

        try:
            return self._links[(environment, node)]
        except KeyError:
            raise NotFoundError(f"no node {node!r} in environment {environment!r}") from None

    def of(self, environment: str) -> list[AgentLink]:
        """Every link of one environment."""
        return [link for (env, _), link in self._links.items() if env == environment]

    async def remove(self, environment: str, node: str | None = None) -> None:
        """Close links of a node or of a whole environment and forget their inventory."""
        for key in [k for k in self._links if k[0] == environment and node in (None, k[1])]:
            await self._links.pop(key).close()
            self.inventory.hub.publish(LinkRemoved(*key))
        self.inventory.forget(environment, node)

    async def close(self) -> None:
        """Close every link (server shutdown)."""
        for key, link in list(self._links.items()):
            await link.close()
            self.inventory.hub.publish(LinkRemoved(*key))
        self._links.clear()
