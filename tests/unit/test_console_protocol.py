"""The console's message checks (fleetdeck.console_protocol), as every hop applies them."""

from __future__ import annotations

import json

import pytest

from fleetdeck import console_protocol as proto
from fleetdeck.errors import InvalidInputError


def test_the_client_s_known_messages_parse() -> None:
    assert proto.parse_client_text('{"type": "resize", "cols": 120, "rows": 40}') == (
        proto.Resize(type="resize", cols=120, rows=40)
    )
    assert proto.parse_client_text('{"type": "input", "data": "ls\\r"}') == (
        proto.Input(type="input", data="ls\r")
    )
    assert proto.parse_client_text('{"type": "eof"}') == proto.Eof(type="eof")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "dictionary"),
        ('{"type": "exec", "cmd": "rm -rf /"}', "tag"),
        ('{"cols": 80, "rows": 24}', "tag"),
        ('{"type": "resize", "cols": "80", "rows": 24}', "integer"),
        ('{"type": "resize", "cols": 80, "rows": 100000}', "less than or equal"),
        ('{"type": "resize", "cols": -1, "rows": 24}', "greater than or equal"),
        ('{"type": "eof", "then": "more"}', "Extra inputs"),
        (json.dumps({"type": "input", "data": "x" * 5000}), "at most"),
        (json.dumps({"type": "input", "data": "é" * 4000}), "over 8192 bytes"),
    ],
)
def test_a_bad_client_message_is_refused_saying_why(text: str, why: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        proto.parse_client_text(text)
    assert caught.value.message.startswith("a ")
    assert why in caught.value.message


def test_the_agent_s_messages_parse_and_an_unknown_one_is_refused() -> None:
    assert proto.parse_agent_text('{"type": "exit", "code": 3}') == proto.Exit(type="exit", code=3)
    assert proto.parse_agent_text('{"type": "exit", "code": null}').code is None  # type: ignore[union-attr]
    error = proto.parse_agent_text(proto.error_text("gone", "node_unreachable"))
    assert error == proto.Error(type="error", message="gone", kind="node_unreachable")
    for text in ('{"type": "resize", "cols": 1, "rows": 1}', '{"type": "exit", "code": 2.5}',
                 '{"type": "error", "message": "m", "kind": "Not A Kind"}'):  # fmt: skip
        with pytest.raises(InvalidInputError):
            proto.parse_agent_text(text)


def test_a_long_error_is_cut_not_refused() -> None:
    parsed = proto.parse_agent_text(proto.error_text("e" * 5000))
    assert isinstance(parsed, proto.Error) and len(parsed.message) == proto.MAX_ERROR_CHARS


def test_output_is_split_to_the_bound_and_led_by_its_stream_without_a_tty() -> None:
    data = b"a" * (2 * proto.MAX_OUTPUT_BYTES)
    frames = proto.output_frames(proto.STDERR, data, tty=False)
    assert all(len(f) <= proto.MAX_OUTPUT_BYTES and f[0] == proto.STDERR for f in frames)
    assert b"".join(f[1:] for f in frames) == data
    for frame in frames:
        assert proto.check_output(frame, tty=False) == frame
    tty_frames = proto.output_frames(proto.STDOUT, data, tty=True)
    assert b"".join(tty_frames) == data and all(proto.check_output(f, tty=True) for f in tty_frames)


def test_bad_frames_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="stream byte"):
        proto.check_output(b"\x03oops", tty=False)
    with pytest.raises(InvalidInputError, match="stream byte"):
        proto.check_output(b"", tty=False)
    with pytest.raises(InvalidInputError, match="over"):
        proto.check_output(b"x" * (proto.MAX_OUTPUT_BYTES + 1), tty=True)
    with pytest.raises(InvalidInputError, match="over"):
        proto.check_input(b"x" * (proto.MAX_INPUT_BYTES + 1))
    assert proto.check_input(b"x" * proto.MAX_INPUT_BYTES)


def test_mode_flags_are_0_or_1() -> None:
    assert proto.flag(None, "tty", default=True) is True
    assert proto.flag("0", "tty", default=True) is False
    assert proto.flag("1", "stdin", default=False) is True
    with pytest.raises(InvalidInputError, match="stdin must be 0 or 1"):
        proto.flag("true", "stdin", default=True)
