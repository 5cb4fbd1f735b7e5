"""Agent settings, the lean entry's hand-over, and the TLS client check."""

from __future__ import annotations

import pytest

from fleetdeck import pki
from fleetdeck.agent import tls
from fleetdeck.agent.settings import AgentSettings, parse_args, parse_listen, to_argv
from fleetdeck.errors import InvalidInputError


def test_server_cn_is_the_pki_one() -> None:
    assert tls.SERVER_CLIENT_CN == pki.SERVER_CLIENT_CN


def test_peer_common_name() -> None:
    peer = {"subject": ((("organizationName", "x"),), (("commonName", "fleetdeck-server"),))}
    assert tls.peer_common_name(peer) == "fleetdeck-server"
    assert tls.peer_common_name(None) is None


def test_listen_parsing() -> None:
    assert parse_listen("0.0.0.0:9001") == ("0.0.0.0", 9001)  # noqa: S104
    assert parse_listen("[::1]:9001") == ("::1", 9001)
    assert parse_listen(":9001") == ("0.0.0.0", 9001)  # noqa: S104
    for bad in ("9001", "host:", "host:99999", "host:x"):
        with pytest.raises(InvalidInputError):
            parse_listen(bad)


def test_flags_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETDECK_SERVER", "https://env:8443")
    monkeypatch.setenv("FLEETDECK_AGENT_LISTEN", "127.0.0.1:1234")
    monkeypatch.setenv("DOCKER_HOST", "unix:///env.sock")
    settings = parse_args(["--server", "https://flag:8443"])
    assert settings.server == "https://flag:8443"
    assert settings.listen == "127.0.0.1:1234"
    assert settings.docker_host == "unix:///env.sock"
    with pytest.raises(InvalidInputError):
        parse_args(["--docker-host", "/var/run/docker.sock"])


def test_join_token_is_handed_over_in_the_environment_not_argv() -> None:
    argv, env = to_argv(AgentSettings(server="https://s", join_token="FDJT-1-secret"))  # noqa: S106
    assert "FDJT-1-secret" not in " ".join(argv)
    assert env == {"FLEETDECK_JOIN_TOKEN": "FDJT-1-secret"}
    assert parse_args(argv).server == "https://s"
