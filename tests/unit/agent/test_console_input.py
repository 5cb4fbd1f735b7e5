"""The agent's console input: checked messages applied, bad ones skipped, end of input.

Fakes stand for the websocket and for aiodocker's exec and stream (the engine boundary); the
agent's input pump and session are the real ones.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from aiohttp import WSMessage, WSMsgType

from fleetdeck.agent.console import _pump_in, _Session

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiodocker.execs import Exec
    from aiodocker.stream import Stream
    from aiohttp import web


class _FakeTransport:
    def __init__(self) -> None:
        self.eof = False

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True


class _FakeStream:
    """What the engine's hijacked connection was given."""

    def __init__(self) -> None:
        self.transport = _FakeTransport()
        self._resp = SimpleNamespace(connection=SimpleNamespace(transport=self.transport))
        self.stdin = b""

    async def write_in(self, data: bytes) -> None:
        assert not self.transport.eof, "written after the half-close"
        self.stdin += data


class _FakeExec:
    def __init__(self) -> None:
        self.sizes: list[dict[str, Any]] = []

    async def resize(self, **size: int) -> None:
        self.sizes.append(size)


class _FakeSocket:
    def __init__(self, *messages: WSMessage) -> None:
        self.messages = messages

    async def _each(self) -> AsyncIterator[WSMessage]:
        for message in self.messages:
            yield message

    def __aiter__(self) -> AsyncIterator[WSMessage]:
        return self._each()


def text(data: str) -> WSMessage:
    return WSMessage(WSMsgType.TEXT, data, None)


def binary(data: bytes) -> WSMessage:
    return WSMessage(WSMsgType.BINARY, data, None)


async def run(*messages: WSMessage, stdin: bool = True) -> tuple[_FakeStream, _FakeExec]:
    stream, execution = _FakeStream(), _FakeExec()
    session = _Session(
        cast("Exec", execution), cast("Stream", stream), tty=False, stdin=stdin
    )  # fmt: skip
    await _pump_in(session, cast("web.WebSocketResponse", _FakeSocket(*messages)))
    return stream, execution


async def test_input_resize_and_the_end_of_input_reach_the_exec() -> None:
    stream, execution = await run(
        binary(b"echo hi\n"),
        text('{"type": "input", "data": "exit 3\\n"}'),
        text('{"type": "resize", "cols": 0, "rows": 30}'),
        text('{"type": "eof"}'),
        binary(b"after the end: dropped"),
        text('{"type": "eof"}'),
    )
    assert stream.stdin == b"echo hi\nexit 3\n"
    assert stream.transport.eof
    assert execution.sizes == [{"w": 1, "h": 30}]


async def test_bad_messages_are_skipped_and_the_session_goes_on() -> None:
    stream, execution = await run(
        text("{not json"),
        text('{"type": "kill", "signal": 9}'),
        text('{"type": "resize", "cols": 99999, "rows": 1}'),
        binary(b"x" * (64 * 1024 + 1)),
        binary(b"still here\n"),
    )
    assert stream.stdin == b"still here\n"
    assert execution.sizes == []
    assert not stream.transport.eof


async def test_without_stdin_nothing_is_written() -> None:
    stream, _ = await run(binary(b"ignored\n"), stdin=False)
    assert stream.stdin == b""
