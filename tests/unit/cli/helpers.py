"""Running the real ``fleetdeck`` entry point in-process, as a user's shell would."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fleetdeck.cli import main

if TYPE_CHECKING:
    import pytest


@dataclass
class Result:
    """What a command printed and how it ended."""

    code: int
    out: str
    err: str


def run_cli(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    stdin: str | None = None,
) -> Result:
    """Run ``fleetdeck ARGS`` through :func:`fleetdeck.cli.main.run` (the error mapping)."""
    monkeypatch.setattr(sys, "argv", ["fleetdeck", *args])
    monkeypatch.setenv("COLUMNS", "200")
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = 0
    try:
        main.run()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
