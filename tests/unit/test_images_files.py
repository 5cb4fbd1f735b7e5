"""The Dockerfile, the agent's ``docker run`` line and deploy/compose.yaml keep their contracts.

The lab tests build and run them (tests/integration/test_images.py); these checks catch a
contract broken by an edit (a renamed variable, a lost label) without an engine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from fleetdeck.lab import product_images
from fleetdeck.lab.fleet_server import agent_container_argv
from fleetdeck.lab.state import NodeRecord

ROOT = Path(__file__).resolve().parents[2]
#: The documented agent line (docs/install.md, `env add`), VERSION and URL/TOKEN filled in.
AGENT_LINE = (
    "docker run -d --name fleetdeck-agent --restart unless-stopped --network host "
    "-v /var/run/docker.sock:/var/run/docker.sock -v fleetdeck-agent:/data "
    "-e FLEETDECK_SERVER=URL -e FLEETDECK_JOIN_TOKEN=TOKEN fleetdeck/agent:VERSION"
)


def _stage(name: str) -> str:
    text = (ROOT / "Dockerfile").read_text()
    match = re.search(rf"^FROM \S+ AS {name}\n(.*?)(?=^FROM |\Z)", text, re.M | re.S)
    assert match, name
    return match.group(1)


def test_both_targets_have_the_operator_conventions() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "ARG BASE=python:3.11-slim-bookworm" in text
    for label in ("version", "revision", "created", "licenses"):
        assert f"org.opencontainers.image.{label}=" in _stage("runtime")
    for target, role in (("server", "server"), ("agent", "agent")):
        stage = _stage(target)
        assert 'VOLUME ["/data"]' in stage
        assert f'"fleetdeck.healthcheck", "{role}"' in stage
        assert "org.opencontainers.image.title=" in stage
        assert f"COPY --from=venv-{role} /opt/fleetdeck /opt/fleetdeck" in stage
    assert "USER fleetdeck" in _stage("server") and "FLEETDECK_DATA_DIR=/data" in _stage("server")
    assert "USER" not in _stage("agent") and "FLEETDECK_AGENT_STATE_DIR=/data" in _stage("agent")
    # Installs only from the wheelhouse, only wheels (no compiler), leaves no pip cache.
    for role in ("agent", "server"):
        venv = _stage(f"venv-{role}")
        for flag in ("--no-index", "--only-binary=:all:", "--no-cache-dir", "--find-links"):
            assert flag in venv


def test_the_build_context_is_the_wheelhouses_alone() -> None:
    lines = [ln for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln[:1] not in "#"]
    assert lines[0] == "*"
    assert all(ln.startswith("!") for ln in lines[1:])


def test_the_lab_starts_agents_with_the_documented_line() -> None:
    node = NodeRecord(
        name="node1", index=1, ip="10.0.0.2", hostname="h", netns="n", veth="v",
        docker_host="unix:///run/fdl/lab/node1/docker.sock", data_root="d", exec_root="e",
        pidfile="p", cgroup_parent="c", log_file="l",
    )  # fmt: skip
    argv = agent_container_argv(node, "URL", "TOKEN", "fleetdeck/agent:VERSION")
    # The same line but for where the lab node's engine socket lives on the host.
    assert argv[:3] == ["docker", "--host", node.docker_host]
    line = " ".join(argv[3:]).replace("/run/fdl/lab/node1/docker.sock:", "/var/run/docker.sock:")
    assert "docker " + line == AGENT_LINE


def test_compose_file_runs_the_server_with_its_volume_and_settings() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    server = compose["services"]["server"]
    assert "fleetdeck-data:/data" in server["volumes"]
    assert server["restart"] == "unless-stopped"
    assert server["healthcheck"]["test"][-2:] == ["fleetdeck.healthcheck", "server"]
    assert server["environment"]["FLEETDECK_DATA_DIR"] == "/data"
    assert all(key.startswith("FLEETDECK_") for key in server["environment"])
    caddy = compose["services"]["caddy"]
    assert caddy["profiles"] == ["proxy"]
    assert "./caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert (ROOT / "deploy" / "caddy" / "Caddyfile").is_file()
    assert set(compose["volumes"]) == {"fleetdeck-data", "caddy-data"}


def test_the_image_cache_key_follows_the_sources(tmp_path: Path) -> None:
    for rel in ("Dockerfile", "src/fleetdeck/a.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("one")
    (tmp_path / "src/fleetdeck/__pycache__").mkdir()
    (tmp_path / "src/fleetdeck/__pycache__/a.pyc").write_text("ignored")
    before = product_images.source_digest(tmp_path)
    (tmp_path / "src/fleetdeck/__pycache__/a.pyc").write_text("still ignored")
    assert product_images.source_digest(tmp_path) == before
    (tmp_path / "src/fleetdeck/a.py").write_text("two")
    assert product_images.source_digest(tmp_path) != before


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is missing")
def test_compose_itself_accepts_the_file_with_the_proxy_profile() -> None:
    """Debian's docker-compose 1.29 (the oldest Compose our users run) validates it."""
    proc = subprocess.run(
        ["docker-compose", "-p", "fleetdeck", "-f", str(ROOT / "deploy" / "compose.yaml"),
         "--profile", "proxy", "config", "-q"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
