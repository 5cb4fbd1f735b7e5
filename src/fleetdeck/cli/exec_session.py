"""``fleetdeck exec -i/-t``: a command in a container attached to this terminal or pipe.

As ``docker exec -i/-t``: ``-i`` sends this process's stdin to the command, and its end
(end of a pipe, Ctrl-D) to the command as end of file; ``-t`` gives the command a terminal,
puts the local one in raw mode (restored however the session ends) and passes on window size
changes (SIGWINCH). Without ``-t`` the command's stdout and stderr arrive apart and go to
this process's stdout and stderr. The process exits with the command's exit code.

Stdin is read by a daemon thread (a blocking read works on every kind of stdin, a regular
file included, where the event loop's readers do not) that hands each chunk to the loop and
waits for it to be sent: the socket's flow control reaches the reader. When the session ends
the thread is left blocked in its read, if it is, and dies with the process: nothing waits
on it, so nothing can hang on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import sys
import termios
import threading
import tty as tty_mode
from typing import TYPE_CHECKING, BinaryIO

from websockets.exceptions import ConnectionClosed, ConnectionClosedError

from fleetdeck import console_protocol as proto
from fleetdeck.client.console import open_console
from fleetdeck.errors import InvalidInputError, NodeUnreachableError, error_for_kind

if TYPE_CHECKING:
    from collections.abc import Iterator

    from websockets.asyncio.client import ClientConnection

    from fleetdeck.client.config import ClientConfig

#: Bytes read from stdin at a time (below the protocol's bound).
CHUNK = 32 * 1024
_EOF = proto.control(proto.Eof(type="eof"))
_ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _terminal_size() -> tuple[int, int] | None:
    for stream in (sys.stdin, sys.stdout):
        with contextlib.suppress(OSError, ValueError):
            size = os.get_terminal_size(stream.fileno())
            return size.columns, size.lines
    return None


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Raw mode on terminal ``fd`` for the block; its settings are put back however it ends."""
    saved = termios.tcgetattr(fd)
    try:
        tty_mode.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _pump_stdin(fd: int, loop: asyncio.AbstractEventLoop, ws: ClientConnection) -> None:
    """Send stdin until its end (then the end-of-input message) or until the session ends."""
    while True:
        try:
            data = os.read(fd, CHUNK)
        except OSError:
            data = b""
        sending = ws.send(data or _EOF)
        try:
            asyncio.run_coroutine_threadsafe(sending, loop).result()
        except RuntimeError:
            sending.close()  # the loop has closed: the session has ended
            return
        except (ConnectionClosed, concurrent.futures.CancelledError):
            return  # the socket is gone, or the session ended while this was being sent
        if not data:
            return


class _Session:
    """One attached exec: writes its output, sends size changes, answers its exit code."""

    def __init__(self, ws: ClientConnection, *, tty: bool, out: BinaryIO, err: BinaryIO) -> None:
        self.ws = ws
        self.tty = tty
        self.out = out
        self.err = err
        self._resizes: set[asyncio.Task[None]] = set()

    async def send_size(self) -> None:
        size = _terminal_size()
        if size is not None:
            cols, rows = (min(side, proto.MAX_TERMINAL_SIDE) for side in size)
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(proto.control(proto.Resize(type="resize", cols=cols, rows=rows)))

    def on_resize(self) -> None:
        task = asyncio.get_running_loop().create_task(self.send_size())
        self._resizes.add(task)
        task.add_done_callback(self._resizes.discard)

    def _write(self, frame: bytes) -> None:
        try:
            proto.check_output(frame, tty=self.tty)
        except InvalidInputError:
            return  # the server checks frames already; a bad one is skipped, not fatal
        target, data = (self.out, frame) if self.tty else (
            self.err if frame[0] == proto.STDERR else self.out, frame[1:]
        )  # fmt: skip
        target.write(data)
        target.flush()

    async def receive(self) -> int:
        """Write output until the exit message; its code (-1 when the engine gave none)."""
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    self._write(message)
                    continue
                try:
                    control = proto.parse_agent_text(message)
                except InvalidInputError:
                    continue  # as for output: skipped
                if isinstance(control, proto.Exit):
                    return control.code if control.code is not None else -1
                raise error_for_kind(control.kind, control.message)
        except ConnectionClosedError as exc:
            raise NodeUnreachableError(f"the connection to the server was lost: {exc}") from None
        raise NodeUnreachableError("the server ended the session before the command ended")


async def _attach(
    config: ClientConfig, ref: str, cmd: list[str], *, tty: bool, interactive: bool
) -> int:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    # SIGTERM and SIGHUP end the session the way Ctrl-C does, so the terminal is restored.
    for ending in _ENDING_SIGNALS:
        if main is not None:
            loop.add_signal_handler(ending, main.cancel)
    async with open_console(config, ref, cmd, tty=tty, stdin=interactive) as ws:
        session = _Session(ws, tty=tty, out=sys.stdout.buffer, err=sys.stderr.buffer)
        if tty:
            await session.send_size()
            loop.add_signal_handler(signal.SIGWINCH, session.on_resize)
        if interactive:
            args = (sys.stdin.fileno(), loop, ws)
            threading.Thread(target=_pump_stdin, args=args, daemon=True).start()
        return await session.receive()


def run_attached(
    config: ClientConfig, ref: str, cmd: list[str], *, tty: bool, interactive: bool
) -> int:
    """Run ``cmd`` in ``ref`` attached to this process; the code to exit with.

    Raises:
        InvalidInputError: ``-t`` with ``-i`` while stdin is not a terminal (as docker says).
        NodeUnreachableError: The server or the node's agent could not be reached, or lost.
    """
    raw = tty and interactive
    if raw and not sys.stdin.isatty():
        raise InvalidInputError(
            "the input device is not a TTY",
            hint="drop -t to pipe input in (fleetdeck exec -i REF -- CMD)",
        )
    sys.stdout.flush()
    with raw_terminal(sys.stdin.fileno()) if raw else contextlib.nullcontext():
        try:
            return asyncio.run(_attach(config, ref, cmd, tty=tty, interactive=interactive))
        except KeyboardInterrupt:
            return 130
        except asyncio.CancelledError:
            return 143  # SIGTERM or SIGHUP (see _attach)
