"""The server's console relay: each message checked, and every way a session ends.

Fakes stand at the two sockets (the client's ASGI websocket, the agent's websockets client);
the relay between them is the real one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

import pytest
from websockets.exceptions import ConnectionClosedError

from fleetdeck import console_protocol as proto
from fleetdeck.errors import InvalidInputError, NodeUnreachableError
from fleetdeck.server.fleet.agent_streams import StreamRejects
from fleetdeck.server.routes.console import _Relay

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi import WebSocket
    from websockets.asyncio.client import ClientConnection

    from fleetdeck.server.fleet.links import AgentLink

EXIT_3 = proto.control(proto.Exit(type="exit", code=3))


class _FakeClient:
    """The client's socket: what it will send, and what it was sent."""

    def __init__(self, *incoming: dict[str, Any], hang: bool = True) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for message in incoming:
            self.incoming.put_nowait(message)
        if not hang:
            self.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
        self.sent: list[str | bytes] = []

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)

    async def send_text(self, data: str) -> None:
        self.sent.append(data)


class _FakeAgent:
    """The agent's socket: the messages it sends, then a clean close, a lost link, or silence."""

    def __init__(self, *outgoing: str | bytes, end: str = "hang") -> None:
        self.outgoing = outgoing
        self.end = end
        self.received: list[str | bytes] = []

    async def _messages(self) -> AsyncIterator[str | bytes]:
        for message in self.outgoing:
            yield message
        if self.end == "lost":
            raise ConnectionClosedError(None, None)
        if self.end == "hang":
            await asyncio.Event().wait()

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._messages()

    async def send(self, message: str | bytes) -> None:
        self.received.append(message)


class _FakeLink:
    where = "lab/node1"

    def __init__(self) -> None:
        self.rejects = StreamRejects(self.where)


def relay(client: _FakeClient, agent: _FakeAgent, *, tty: bool = False) -> tuple[_Relay, _FakeLink]:
    link = _FakeLink()
    session = _Relay(
        cast("WebSocket", client),
        cast("ClientConnection", agent),
        tty=tty,
        link=cast("AgentLink", link),
    )
    return session, link


async def test_output_and_the_exit_reach_the_client_and_bad_agent_messages_are_skipped() -> None:
    client = _FakeClient()
    agent = _FakeAgent(b"\x01hi\n", b"\x09not a stream", '{"type": "bogus"}', b"\x02oops\n", EXIT_3,
                      end="closed")  # fmt: skip
    session, link = relay(client, agent)
    await asyncio.wait_for(session.run(), timeout=10)
    assert client.sent == [b"\x01hi\n", b"\x02oops\n", EXIT_3]
    assert link.rejects.counts == {"console": 2}


async def test_a_lost_agent_link_is_told_as_unreachable() -> None:
    for end in ("lost", "closed"):  # abnormal close, or a close without an exit message
        session, _ = relay(_FakeClient(), _FakeAgent(b"\x01partial", end=end))
        with pytest.raises(NodeUnreachableError, match="lost the link to the agent of lab/node1"):
            await asyncio.wait_for(session.run(), timeout=10)


async def test_client_messages_are_checked_before_the_agent_sees_them() -> None:
    good = {"type": "websocket.receive", "text": '{"type": "resize", "cols": 80, "rows": 24}'}
    stdin = {"type": "websocket.receive", "bytes": b"echo hi\n"}
    eof = {"type": "websocket.receive", "text": '{"type": "eof"}'}
    bad = {"type": "websocket.receive", "text": '{"type": "exec", "cmd": ["reboot"]}'}
    agent = _FakeAgent()
    session, _ = relay(_FakeClient(good, stdin, eof, bad), agent)
    with pytest.raises(InvalidInputError, match="bad console message from the client"):
        await asyncio.wait_for(session.run(), timeout=10)
    assert agent.received == [good["text"], b"echo hi\n", eof["text"]]

    huge = {"type": "websocket.receive", "bytes": b"x" * (proto.MAX_INPUT_BYTES + 1)}
    session, _ = relay(_FakeClient(huge), agent := _FakeAgent())
    with pytest.raises(InvalidInputError, match="input frame over"):
        await asyncio.wait_for(session.run(), timeout=10)
    assert agent.received == []


async def test_the_client_leaving_ends_the_relay_quietly() -> None:
    session, _ = relay(_FakeClient(hang=False), _FakeAgent())
    await asyncio.wait_for(session.run(), timeout=10)
