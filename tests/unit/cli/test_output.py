"""Tables off a terminal: plain full-width rows, so ``fleetdeck ps | grep`` sees whole cells."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

from fleetdeck import __version__
from fleetdeck.cli.output import plain_table
from tests.unit.cli.helpers import run_cli
from tests.unit.client.fake_server import FakeServer, container

if TYPE_CHECKING:
    import pytest

URL = ("--url", "https://fleet.test:8443", "--token", "tok")
LONG_ENV = "lab-node-with-a-long-environment-name"


def test_ps_off_a_terminal_prints_every_cell_whole_one_row_a_line(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [container("web-frontend-number-one", env=LONG_ENV), container("db", env="dev")]
    fake_server.on("GET", "/containers", {"items": rows, "total": 2})
    result = run_cli(capsys, monkeypatch, "ps", *URL)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == [
        "ENVIRONMENT",
        "NODE",
        "NAME",
        "IMAGE",
        "STATE",
        "HEALTH",
        "STATUS",
        "ID",
    ]
    assert "…" not in result.out and "│" not in result.out and "━" not in result.out
    grepped = [line for line in lines if LONG_ENV in line]
    assert len(grepped) == 1
    assert f"{LONG_ENV}-1" in grepped[0] and "web-frontend-number-one" in grepped[0]
    assert "registry.lan:5000/web:1" in grepped[0] and "Up 5 minutes (healthy)" in grepped[0]
    assert len(grepped[0]) > 80  # not fitted to a pipe's assumed 80 columns


def test_plain_table_aligns_columns_and_keeps_rows_on_one_line() -> None:
    text = plain_table("Title", ["A", "LONGER"], [["x" * 5, "two\nlines"], ["y", ""]])
    assert text.splitlines() == ["Title", "A       LONGER", "xxxxx   two lines", "y"]


def test_a_table_through_a_real_pipe_is_plain() -> None:
    code = (
        "from fleetdeck.cli.output import print_table\n"
        f"print_table(None, ['ENVIRONMENT', 'NAME'], [['{LONG_ENV}', '{'n' * 90}']])\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "80", "TERM": "xterm"},
    )
    assert done.stdout.splitlines() == [
        f"{'ENVIRONMENT'.ljust(len(LONG_ENV))}   NAME",
        f"{LONG_ENV}   {'n' * 90}",
    ]


def test_version_flag_prints_the_version_and_exits_0() -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "fleetdeck", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, __version__)
