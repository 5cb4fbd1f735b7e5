"""``env add`` / ``env token`` print every way to start the agent; ``server agent-dist``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fleetdeck.wire.fleet import JoinToken
from tests.unit.cli.helpers import run_cli

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from tests.unit.client.fake_server import FakeServer

URL = ("--url", "https://fleet.test:8443", "--token", "tok")
LINES = JoinToken(
    join_token="FDJT-1-abc-def",  # noqa: S106
    agent_command="fleetdeck agent --server https://fleet.test:8443 --join-token FDJT-1-abc-def",
    expires_in_seconds=3600,
    install_command="curl -fsS --cacert <(printf …) https://fleet.test:8443/install/agent.sh"
    " | sh -s -- --token FDJT-1-abc-def",
    docker_command="docker run -d --name fleetdeck-agent … fleetdeck/agent:0.1.0",
    image_load_command="curl … /install/fleetdeck-agent-image.tar | docker load",
    uninstall_command="sh /opt/fleetdeck-agent/agent.sh --uninstall",
).model_dump(mode="json")


def test_env_add_prints_script_container_hand_and_uninstall_lines_in_order(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("POST", "/environments", LINES)
    out = run_cli(capsys, monkeypatch, "env", "add", "prod", *URL).out
    keys = ["install_command", "image_load_command", "docker_command", "agent_command"]
    positions = [out.index(str(LINES[k])) for k in [*keys, "uninstall_command"]]
    assert positions == sorted(positions), out
    assert "by script" in out and "as a container" in out and "by hand" in out


def test_env_token_json_carries_the_lines_under_their_keys(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.on("POST", "/environments/prod/join-tokens", LINES)
    result = run_cli(capsys, monkeypatch, "env", "token", "prod", "-o", "json", *URL)
    data = json.loads(result.out)
    for key in ("agent_command", "install_command", "docker_command", "uninstall_command"):
        assert data[key] == LINES[key]


def test_env_add_without_a_distribution_omits_the_script_lines(
    fake_server: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = {**LINES, "install_command": None, "uninstall_command": None, "image_load_command": None}
    fake_server.on("POST", "/environments", bare)
    out = run_cli(capsys, monkeypatch, "env", "add", "prod", *URL).out
    assert "by script" not in out and "docker run" in out and "fleetdeck agent" in out


def test_server_agent_dist_fills_and_shows_the_distribution(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    empty = run_cli(capsys, monkeypatch, "server", "agent-dist", "--data-dir", str(data))
    assert empty.code != 0 and "serves no agent distribution" in empty.err
    house = tmp_path / "house"
    house.mkdir()
    (house / "fleetdeck-0.1.0-py3-none-any.whl").write_bytes(b"wheel")
    args = ("server", "agent-dist", "--data-dir", str(data), "--from", str(house))
    filled = run_cli(capsys, monkeypatch, *args)
    assert filled.code == 0 and "1 wheels" in filled.out, filled.err
    manifest = json.loads((data / "agent-dist" / "manifest.json").read_text())
    assert [f["name"] for f in manifest["files"]] == ["fleetdeck-0.1.0-py3-none-any.whl"]
    shown = run_cli(capsys, monkeypatch, "server", "agent-dist", "--data-dir", str(data))
    assert shown.code == 0 and "fleetdeck 0.1.0, 1 wheels" in shown.out
