"""The images' HEALTHCHECK command (:mod:`fleetdeck.healthcheck`) on local sockets."""

from __future__ import annotations

import contextlib
import socket
from typing import TYPE_CHECKING

from fleetdeck import healthcheck

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest


@contextlib.contextmanager
def _listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_agent_is_healthy_while_its_port_accepts_connections() -> None:
    with _listening() as port:
        # A wildcard listen is checked on loopback.
        assert healthcheck.check_agent({"FLEETDECK_AGENT_LISTEN": f"0.0.0.0:{port}"}) is None
    problem = healthcheck.check_agent({"FLEETDECK_AGENT_LISTEN": f"127.0.0.1:{port}"})
    assert problem is not None and f"127.0.0.1:{port}" in problem


def test_server_without_an_answer_is_unhealthy_with_the_url() -> None:
    port = _free_port()
    env = {"FLEETDECK_LISTEN": f"0.0.0.0:{port}", "FLEETDECK_TLS": "false"}
    problem = healthcheck.check_server(env)
    assert problem is not None and problem.startswith(f"http://127.0.0.1:{port}/api/v1/health")


def test_server_check_uses_https_and_the_ca_in_the_data_dir() -> None:
    port = _free_port()
    env = {"FLEETDECK_LISTEN": f"[::1]:{port}", "FLEETDECK_DATA_DIR": "/nonexistent"}
    problem = healthcheck.check_server(env)
    assert problem is not None and problem.startswith(f"https://[::1]:{port}/")


def test_main_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert healthcheck.main([]) == 2
    assert healthcheck.main(["proxy"]) == 2
    assert "usage: python -m fleetdeck.healthcheck server|agent" in capsys.readouterr().err
    with _listening() as port:
        monkeypatch.setenv("FLEETDECK_AGENT_LISTEN", f"127.0.0.1:{port}")
        assert healthcheck.main(["agent"]) == 0


def test_a_bad_listen_setting_is_unhealthy_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLEETDECK_AGENT_LISTEN", "no-port")
    assert healthcheck.main(["agent"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("unhealthy: bad setting") and "Traceback" not in err
