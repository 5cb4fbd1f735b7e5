from __future__ import annotations

import json
import socket
import stat
from typing import TYPE_CHECKING

import httpx

from fleetdeck.client.config import config_path, load_saved_login
from fleetdeck.wire.auth import ApiToken, CreatedToken, LoginResult, Me, User
from tests.unit.cli.helpers import run_cli
from tests.unit.client.fake_server import FakeServer, error_body, served

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

USER = served(
    User,
    {"username": "ann", "role": "admin", "created_at": "2026-01-01T00:00:00Z", "disabled": False},
)


def _serve_login(fake_server: FakeServer) -> None:
    fake_server.on(
        "POST",
        "/auth/login",
        served(
            LoginResult,
            {"token": "session-tok", "user": USER, "expires_at": "2026-01-02T00:00:00Z"},
        ),
    )

    def create_token(request: httpx.Request) -> httpx.Response:
        name = json.loads(request.content)["name"]
        return httpx.Response(
            201,
            json=served(
                CreatedToken,
                {"id": "t9", "name": name, "role": "admin", "user": "ann", "token": "api-tok"},
            ),
        )

    fake_server.on("POST", "/tokens", create_token)
    fake_server.on("POST", "/auth/logout", {"ok": True})


def test_login_saves_a_private_file_with_a_new_api_token(
    fake_server: FakeServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _serve_login(fake_server)
    ca = tmp_path / "ca.pem"
    ca.write_text("not needed by the fake transport")
    result = run_cli(
        capsys,
        monkeypatch,
        "login",
        "https://fleet.test:8443/",
        "-u",
        "ann",
        "--password-stdin",
        "--ca-cert",
        str(ca),
        stdin="hunter2-long\n",
    )
    assert result.code == 0, result.err
    assert json.loads(fake_server.last("POST", "/auth/login").content) == {
        "username": "ann",
        "password": "hunter2-long",
    }
    token_request = fake_server.last("POST", "/tokens")
    assert token_request.headers["Authorization"] == "Bearer session-tok"
    assert json.loads(token_request.content)["name"] == f"cli@{socket.gethostname()}"
    assert fake_server.last("POST", "/auth/logout").headers["Authorization"] == "Bearer session-tok"
    path = config_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = load_saved_login()
    assert saved is not None
    assert (saved.url, saved.token, saved.ca_cert) == (
        "https://fleet.test:8443",
        "api-tok",
        str(ca),
    )
    assert "session-tok" not in path.read_text()
    assert "api-tok" not in result.out  # the secret is saved, not printed


def test_later_commands_use_the_saved_login(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_login(fake_server)
    run_cli(capsys, monkeypatch, "login", "https://fleet.test:8443", "-u", "ann",
            "--password-stdin", stdin="pw\n")  # fmt: skip
    fake_server.on("GET", "/auth/me", served(Me, {**USER, "token_id": "t9"}))
    result = run_cli(capsys, monkeypatch, "whoami", "-o", "json")
    assert result.code == 0 and json.loads(result.out)["username"] == "ann"
    assert fake_server.requests[-1].headers["Authorization"] == "Bearer api-tok"


def test_login_with_a_wrong_password_saves_nothing(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on(
        "POST",
        "/auth/login",
        lambda _r: error_body(401, "unauthenticated", "wrong username or password"),
    )
    result = run_cli(capsys, monkeypatch, "login", "https://fleet.test", "-u", "ann",
                     "--password-stdin", stdin="nope\n")  # fmt: skip
    assert result.code == 3 and "wrong username or password" in result.err
    assert not config_path().exists()


def test_login_without_password_source_is_a_usage_error(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(capsys, monkeypatch, "login", "https://fleet.test", "-u", "ann", stdin="")
    assert result.code == 2 and "--password-stdin" in result.err
    assert fake_server.requests == []


def test_logout_revokes_the_token_and_forgets_the_login(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_login(fake_server)
    run_cli(capsys, monkeypatch, "login", "https://fleet.test", "-u", "ann",
            "--password-stdin", stdin="pw\n")  # fmt: skip
    fake_server.on(
        "DELETE",
        "/tokens/t9",
        served(ApiToken, {"id": "t9", "name": "x", "role": "admin", "revoked": True}),
    )
    result = run_cli(capsys, monkeypatch, "logout", "-o", "json")
    assert result.code == 0
    assert json.loads(result.out) == {
        "logged_out": True,
        "token_revoked": True,
        "config_path": str(config_path()),
    }
    assert not config_path().exists()
