from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from tests.unit.cli.helpers import run_cli
from tests.unit.client.fake_server import FakeServer, error_body

if TYPE_CHECKING:
    import pytest

URL = ("--url", "https://fleet.test:8443", "--token", "tok")


def test_not_found_exits_4_without_traceback(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on(
        "POST",
        "/containers/node1%2Fghost/stop",
        lambda _r: error_body(404, "not_found", "no container 'ghost' in node1"),
    )
    result = run_cli(capsys, monkeypatch, "stop", "node1/ghost", *URL)
    assert result.code == 4
    assert "no container 'ghost' in node1" in result.err
    assert "Traceback" not in result.err


def test_permission_denied_exits_3(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on(
        "POST",
        "/containers/abc/kill",
        lambda _r: error_body(403, "permission_denied", "needs role operator", "ask an admin"),
    )
    result = run_cli(capsys, monkeypatch, "kill", "abc", *URL)
    assert result.code == 3
    assert "needs role operator" in result.err and "ask an admin" in result.err


def test_connection_refused_exits_6_with_a_helpful_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("FLEETDECK_URL", f"http://127.0.0.1:{port}")
    result = run_cli(capsys, monkeypatch, "ps")
    assert result.code == 6
    assert f"cannot reach fleetdeck server at http://127.0.0.1:{port}" in result.err.replace(
        "\n", ""
    )
    assert "Traceback" not in result.err


def test_no_server_configured_exits_2_and_says_how(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(capsys, monkeypatch, "ps")
    assert result.code == 2
    assert "fleetdeck login URL" in result.err


def test_server_side_usage_error_exits_2(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on(
        "GET", "/containers", lambda _r: error_body(422, "invalid_input", "cannot sort by 'bogus'")
    )
    result = run_cli(capsys, monkeypatch, "ps", "--sort", "bogus", *URL)
    assert result.code == 2 and "cannot sort by 'bogus'" in result.err
    assert fake_server.requests[-1].url.params["sort"] == "bogus"
