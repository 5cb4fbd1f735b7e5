from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from fleetdeck.client.config import (
    SavedLogin,
    config_path,
    forget_login,
    load_saved_login,
    resolve_config,
    save_login,
)
from fleetdeck.errors import InvalidInputError


def _save(url: str = "https://saved:8443", token: str = "saved-token") -> None:  # noqa: S107
    save_login(SavedLogin(url=url, token=token, ca_cert="/saved/ca.pem", token_id="t1"))  # noqa: S106


def test_missing_url_says_how_to_log_in() -> None:
    with pytest.raises(InvalidInputError) as info:
        resolve_config()
    assert "fleetdeck login URL" in (info.value.hint or "")
    assert "FLEETDECK_URL" in (info.value.hint or "")


def test_saved_login_is_the_last_resort() -> None:
    _save()
    config = resolve_config()
    assert (config.url, config.token, config.ca_cert) == (
        "https://saved:8443",
        "saved-token",
        "/saved/ca.pem",
    )


def test_environment_beats_saved_login(monkeypatch: pytest.MonkeyPatch) -> None:
    _save()
    monkeypatch.setenv("FLEETDECK_TOKEN", "env-token")
    monkeypatch.setenv("FLEETDECK_CA_CERT", "/env/ca.pem")
    config = resolve_config()
    assert (config.url, config.token, config.ca_cert) == (
        "https://saved:8443",
        "env-token",
        "/env/ca.pem",
    )


def test_flag_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETDECK_URL", "https://env:8443")
    monkeypatch.setenv("FLEETDECK_TOKEN", "env-token")
    monkeypatch.setenv("FLEETDECK_CA_CERT", "/env/ca.pem")
    config = resolve_config("https://flag:8443/", "flag-token", "/flag/ca.pem")
    assert (config.url, config.token, config.ca_cert) == (
        "https://flag:8443",
        "flag-token",
        "/flag/ca.pem",
    )


def test_saved_token_is_never_sent_to_another_server(monkeypatch: pytest.MonkeyPatch) -> None:
    _save()
    monkeypatch.setenv("FLEETDECK_URL", "https://elsewhere:8443")
    config = resolve_config()
    assert config.url == "https://elsewhere:8443"
    assert config.token is None and config.ca_cert is None


def test_url_is_normalized() -> None:
    assert resolve_config("https://fleet:8443/api/v1/").url == "https://fleet:8443"
    with pytest.raises(InvalidInputError):
        resolve_config("fleet:8443-without-scheme")


def test_saved_login_is_private_and_round_trips() -> None:
    _save()
    path = config_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["token"] == "saved-token"  # noqa: S105
    saved = load_saved_login()
    assert saved is not None and saved.token_id == "t1"  # noqa: S105
    assert forget_login() and not forget_login()
    assert load_saved_login() is None


def test_config_dir_is_overridable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLEETDECK_CONFIG_DIR", str(tmp_path / "x"))
    assert config_path() == tmp_path / "x" / "config.json"
    monkeypatch.delenv("FLEETDECK_CONFIG_DIR")
    assert config_path() == Path.home() / ".config" / "fleetdeck" / "config.json"


def test_broken_saved_login_is_reported() -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    with pytest.raises(InvalidInputError, match="cannot read saved login"):
        resolve_config()
