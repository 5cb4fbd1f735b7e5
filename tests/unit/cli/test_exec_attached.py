"""``fleetdeck exec -i/-t``'s client end against a fake server's console websocket.

The fake (a real websockets server on 127.0.0.1) plays the fleetdeck server's side of the
protocol; the CLI's session code, its stdin thread and its error mapping are the real ones.
"""

from __future__ import annotations

import io
import os
import sys
from typing import TYPE_CHECKING, Any

import pytest
from websockets.asyncio.server import serve

from fleetdeck import console_protocol as proto
from fleetdeck.cli.exec_session import _attach
from fleetdeck.client.config import ClientConfig
from fleetdeck.errors import NodeUnreachableError, NotFoundError
from tests.unit.cli.helpers import run_cli

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from websockets.asyncio.server import ServerConnection

URL = ("--url", "https://fleet.test:8443", "--token", "tok")


def test_json_output_and_a_tty_without_a_terminal_are_usage_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(capsys, monkeypatch, "exec", "-i", "-o", "json", "a/b", *URL, "--", "sh")
    assert result.code == 2 and "-o json is for exec without -i/-t" in result.err
    result = run_cli(capsys, monkeypatch, "exec", "-it", "a/b", *URL, "--", "sh", stdin="x\n")
    assert result.code == 2 and "the input device is not a TTY" in result.err


class _Std:
    """sys.stdout or sys.stderr with a bytes buffer to read back."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def flush(self) -> None:
        """Nothing to flush: the buffer is read afterwards."""


@pytest.fixture
def stdio(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bytes], tuple[_Std, _Std]]]:
    """Give the CLI a pipe holding ``data`` as stdin, and byte buffers as stdout and stderr."""
    pipes: list[io.FileIO] = []

    def make(data: bytes) -> tuple[_Std, _Std]:
        read, write = os.pipe()
        os.write(write, data)
        os.close(write)
        pipes.append(io.FileIO(read, "rb"))
        monkeypatch.setattr(sys, "stdin", pipes[-1])
        out, err = _Std(), _Std()
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        return out, err

    yield make
    for pipe in pipes:
        pipe.close()


@pytest.fixture
async def server() -> AsyncIterator[Callable[[Any], Any]]:
    """Start a fake console server running the handler it is given; yields a starter."""
    started: list[Any] = []

    async def start(handler: Any) -> ClientConfig:
        srv = await serve(handler, "127.0.0.1", 0)
        started.append(srv)
        port = next(iter(srv.sockets)).getsockname()[1]
        return ClientConfig(url=f"http://127.0.0.1:{port}", token="tok-1", timeout=10)  # noqa: S106 - a fake

    yield start
    for srv in started:
        srv.close()
        await srv.wait_closed()


async def test_stdin_its_end_stderr_and_the_exit_code(
    server: Any, stdio: Callable[[bytes], tuple[_Std, _Std]]
) -> None:
    seen: dict[str, Any] = {}

    async def echo(ws: ServerConnection) -> None:
        assert ws.request is not None
        seen["path"] = ws.request.path
        seen["auth"] = ws.request.headers.get("Authorization")
        seen["origin"] = ws.request.headers.get("Origin")
        async for message in ws:
            if isinstance(message, bytes):
                await ws.send(b"\x01" + message.upper())
                continue
            assert proto.parse_client_text(message) == proto.Eof(type="eof")
            await ws.send(b"\x02bye\n")
            await ws.send(proto.control(proto.Exit(type="exit", code=7)))
            return

    out, err = stdio(b"hello\n")
    config = await server(echo)
    code = await _attach(config, "node2/web", ["sh"], tty=False, interactive=True)
    assert code == 7
    assert out.buffer.getvalue() == b"HELLO\n" and err.buffer.getvalue() == b"bye\n"
    assert seen == {
        "path": "/api/v1/containers/node2/web/console?cmd=sh&tty=0&stdin=1",
        "auth": "Bearer tok-1",
        "origin": None,
    }


async def test_an_error_keeps_its_kind_and_a_session_cut_short_is_unreachable(
    server: Any, stdio: Callable[[bytes], tuple[_Std, _Std]]
) -> None:
    async def refuse(ws: ServerConnection) -> None:
        await ws.send(proto.error_text("no container 'web'", "not_found"))

    async def vanish(ws: ServerConnection) -> None:
        await ws.send(b"\x01partial")

    stdio(b"")
    with pytest.raises(NotFoundError, match="no container 'web'"):
        await _attach(await server(refuse), "n/web", ["sh"], tty=False, interactive=True)
    out, _ = stdio(b"")
    with pytest.raises(NodeUnreachableError, match="before the command ended"):
        await _attach(await server(vanish), "n/web", ["sh"], tty=False, interactive=False)
    assert out.buffer.getvalue() == b"partial"


async def test_a_server_that_is_not_there_is_unreachable(
    stdio: Callable[[bytes], tuple[_Std, _Std]],
) -> None:
    stdio(b"")
    config = ClientConfig(url="http://127.0.0.1:9", token="t", timeout=5)  # noqa: S106 - a fake
    with pytest.raises(NodeUnreachableError, match="cannot reach fleetdeck server"):
        await _attach(config, "n/web", ["sh"], tty=False, interactive=True)
