"""The console websocket's messages, checked the same way on every hop.

One protocol runs from the client (the web UI's terminal or ``fleetdeck exec -i/-t``) to the
server (``WS /api/v1/containers/{ref}/console``) and on to the agent
(``GET /v1/containers/{id}/exec/ws``). Each hop validates what it receives with these
functions, so a malformed or oversized message is refused where it arrives and never reaches
an engine, and a misbehaving peer cannot make another hop allocate without bound.

The query chooses the mode: ``tty=1`` (default, the UI's) gives the command a terminal;
``tty=0`` gives it plain pipes. ``stdin=1`` (default) attaches its standard input.

Binary frames:

* client → agent: bytes for the command's stdin, at most :data:`MAX_INPUT_BYTES` each;
* agent → client: output, at most :data:`MAX_OUTPUT_BYTES`. With a TTY, the terminal's bytes
  as they come. Without one, the first byte names the stream (Docker's ids: ``1`` stdout,
  ``2`` stderr) and the rest is that stream's bytes.

Text frames are JSON objects with a ``type``, at most :data:`MAX_TEXT_BYTES`:

* client → agent: ``{"type": "resize", "cols": C, "rows": R}``; ``{"type": "input",
  "data": TEXT}`` (stdin as text); ``{"type": "eof"}``: the input has ended (a pipe was
  read to its end, Ctrl-D): the agent half-closes the command's stdin, so a shell reading
  it sees end of file, and the output keeps flowing until the command exits;
* agent or server → client: ``{"type": "exit", "code": N|null}`` when the command ended, or
  ``{"type": "error", "message": M, "kind": K}`` (``K`` an error kind of
  :mod:`fleetdeck.errors`), each just before the socket is closed.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Coroutine

#: Largest stdin chunk a client may send in one frame (the CLI sends 32 KiB at most).
MAX_INPUT_BYTES = 64 * 1024
#: Largest output frame an agent sends (the stream byte included); larger output is split.
MAX_OUTPUT_BYTES = 64 * 1024 + 1
#: Largest control message (JSON text frame) in either direction.
MAX_TEXT_BYTES = 8 * 1024
#: Largest terminal side accepted in a resize (Docker takes any uint16).
MAX_TERMINAL_SIDE = 10_000
#: Longest error message relayed (an engine's may be long; it is cut, not refused).
MAX_ERROR_CHARS = 2000
STDOUT, STDERR = 1, 2
T = TypeVar("T")


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Resize(_Message):
    """The client's terminal changed size (0 is taken as 1: a hidden widget may say 0)."""

    type: Literal["resize"]
    cols: int = Field(ge=0, le=MAX_TERMINAL_SIDE)
    rows: int = Field(ge=0, le=MAX_TERMINAL_SIDE)


class Input(_Message):
    """Stdin as text (older UI pages send keystrokes this way)."""

    type: Literal["input"]
    data: str = Field(max_length=MAX_TEXT_BYTES // 2)


class Eof(_Message):
    """No more input: half-close the command's stdin."""

    type: Literal["eof"]


class Exit(_Message):
    """The command ended with this code (null when the engine did not say)."""

    type: Literal["exit"]
    code: int | None = Field(ge=-(2**31), le=2**31 - 1)


class Error(_Message):
    """The session could not start, or ended abnormally; ``kind`` as in fleetdeck.errors."""

    type: Literal["error"]
    message: str = Field(max_length=MAX_ERROR_CHARS)
    kind: str = Field(default="error", max_length=40, pattern=r"^[a-z_]+$")


ClientControl = Annotated[Resize | Input | Eof, Field(discriminator="type")]
AgentControl = Annotated[Exit | Error, Field(discriminator="type")]
_CLIENT: TypeAdapter[Resize | Input | Eof] = TypeAdapter(ClientControl)
_AGENT: TypeAdapter[Exit | Error] = TypeAdapter(AgentControl)


def _parse(text: str, adapter: TypeAdapter[T], sender: str) -> T:
    if len(text) > MAX_TEXT_BYTES or len(text.encode()) > MAX_TEXT_BYTES:
        raise InvalidInputError(f"a console message from the {sender} over {MAX_TEXT_BYTES} bytes")
    try:
        return adapter.validate_python(json.loads(text))
    except (ValueError, ValidationError) as exc:
        first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "not JSON"
        raise InvalidInputError(f"a bad console message from the {sender}: {first}") from None


def parse_client_text(text: str) -> Resize | Input | Eof:
    """Validate a client's control message.

    Raises:
        InvalidInputError: Too long, not JSON, an unknown ``type`` or bad fields.
    """
    return _parse(text, _CLIENT, "client")


def parse_agent_text(text: str) -> Exit | Error:
    """Validate an agent's (or the server's) control message.

    Raises:
        InvalidInputError: Too long, not JSON, an unknown ``type`` or bad fields.
    """
    return _parse(text, _AGENT, "agent")


def check_input(data: bytes) -> bytes:
    """A client's stdin frame, refused when over :data:`MAX_INPUT_BYTES`."""
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidInputError(f"a console input frame over {MAX_INPUT_BYTES} bytes")
    return data


def check_output(data: bytes, *, tty: bool) -> bytes:
    """An agent's output frame: bounded, and without a TTY led by a known stream byte."""
    if len(data) > MAX_OUTPUT_BYTES:
        raise InvalidInputError(f"a console output frame over {MAX_OUTPUT_BYTES} bytes")
    if not tty and (not data or data[0] not in (STDOUT, STDERR)):
        raise InvalidInputError("a console output frame without its stream byte")
    return data


def output_frames(stream: int, data: bytes, *, tty: bool) -> list[bytes]:
    """The frames that carry ``data`` of ``stream`` (1 stdout, 2 stderr), split to the bound."""
    step = MAX_OUTPUT_BYTES - 1
    chunks = [data[i : i + step] for i in range(0, len(data), step)]
    if tty:
        return chunks
    lead = bytes([STDERR if stream == STDERR else STDOUT])
    return [lead + chunk for chunk in chunks]


def control(message: _Message) -> str:
    """A control message as the text frame that carries it."""
    return message.model_dump_json()


def error_text(message: str, kind: str = "error") -> str:
    """The text frame of an error (the message cut to :data:`MAX_ERROR_CHARS`)."""
    return control(Error(type="error", message=message[:MAX_ERROR_CHARS], kind=kind))


def flag(value: str | None, name: str, *, default: bool) -> bool:
    """A ``0``/``1`` query flag (``tty``, ``stdin``); anything else is refused."""
    if value is None:
        return default
    if value in ("0", "1"):
        return value == "1"
    raise InvalidInputError(f"the console's {name} must be 0 or 1, not {value[:20]!r}")


async def until_first_ends(*directions: Coroutine[Any, Any, None]) -> set[asyncio.Task[None]]:
    """Run a session's directions until one ends; cancel and await the others.

    Both hops relay two directions at once, and whichever ends first (the command's output,
    the peer going away) ends the session: nothing is left running to hang on.

    Returns:
        The tasks that had ended (their exceptions are the caller's to look at).
    """
    tasks = [asyncio.create_task(direction) for direction in directions]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return done
