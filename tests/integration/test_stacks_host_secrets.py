"""Stack secrets and builds on a plain host, and a deploy cut short by killing the server."""

from __future__ import annotations

import signal
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.server_helpers import server_pid, start_server, stop_server

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab


def test_secret_is_delivered_as_a_file_and_never_returned(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[0]
    stack = f"k{uuid.uuid4().hex[:6]}"
    value = f"pw-{uuid.uuid4().hex}"
    text = f"""
services:
  app:
    image: {fleet3.images["base"]}
    command: ["sleep", "3600"]
    secrets: [db]
    environment: {{LOG_LEVEL: info}}
secrets:
  db:
    environment: DB_PASSWORD
"""
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    # A secret from stdin: never on a command line, never in shell history.
    fleetdeck("stack", "vars", "set", stack, "DB_PASSWORD", "--secret", "--value-stdin",
              env=env, stdin=value + "\n")  # fmt: skip
    fleetdeck("stack", "vars", "set", stack, "MODE", "blue", env=env)
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
    container = f"{stack}-app-1"
    assert docker(node, "exec", container, "cat", "/run/secrets/db") == value
    mounts = docker(node, "inspect", "-f", "{{range .Mounts}}{{.Destination}}={{.RW}} {{end}}",
                    container)  # fmt: skip
    assert "/run/secrets/db=false" in mounts
    listed = fleetdeck_json("stack", "vars", "ls", stack, env=env)
    assert {v["key"]: v["value"] for v in listed} == {"DB_PASSWORD": None, "MODE": "blue"}
    # A new value is a change (named, never shown), delivered by a recreate.
    new_value = f"pw-{uuid.uuid4().hex}"
    fleetdeck("stack", "vars", "set", stack, "DB_PASSWORD", "--secret", "--value-stdin",
              env=env, stdin=new_value)  # fmt: skip
    plan = fleetdeck_json("stack", "diff", stack, env=env)
    change = next(c for c in plan if c["service"] == "app")
    assert change["action"] == "recreate" and "secret-value.db" in change["reason"]
    fleetdeck("stack", "deploy", stack, env=env)
    # The replacement took the next free number while the old replica still ran.
    container = docker(node, "ps", "-q", "--filter", f"label=com.docker.compose.project={stack}")
    assert docker(node, "exec", container, "cat", "/run/secrets/db") == new_value
    with client_for(fleet3) as client:
        seen: list[Any] = [
            client.get_stack(stack),
            client.stack_history(stack),
            client.stack_revision(stack, 1),
            client.audit(limit=200).model_dump(mode="json"),
        ]
    blob = repr(seen) + repr(plan)
    assert value not in blob and new_value not in blob
    assert fleet3.server is not None
    server_log = (Path(fleet3.server.data_dir) / "server.log").read_text(errors="replace")
    assert value not in server_log and new_value not in server_log
    fleetdeck("stack", "rm", stack, "-y", env=env)


def test_image_built_on_the_node_from_the_stacks_files(fleet3: LabRecord, tmp_path: Path) -> None:
    env, node = server_env(fleet3), fleet3.nodes[2]
    stack = f"u{uuid.uuid4().hex[:6]}"
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(
        'ARG BASE\nFROM ${BASE}\nRUN echo built > /built\nCMD ["sleep", "3600"]\n'
    )
    path = tmp_path / "compose.yaml"
    path.write_text(
        "services:\n  app:\n    build:\n      context: ./app\n"
        f"      args: {{BASE: '{fleet3.images['base']}'}}\n"
    )
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
    assert docker(node, "exec", f"{stack}-app-1", "cat", "/built") == "built"
    assert f"{stack}-app" in docker(node, "images", "--format", "{{.Repository}}")
    plan = fleetdeck_json("stack", "diff", stack, env=env)
    assert [c["action"] for c in plan] == ["unchanged"]
    fleetdeck("stack", "rm", stack, "-y", env=env)


def test_deploy_interrupted_by_killing_the_server_converges(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[1]
    assert fleet3.server is not None
    stack = f"i{uuid.uuid4().hex[:6]}"
    text = f"""
services:
  web:
    image: {fleet3.images["web"]}
    deploy: {{replicas: 3}}
"""
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    files = [{"name": "compose.yaml", "content": text}]
    started = threading.Event()

    def deploy() -> None:
        try:
            with client_for(fleet3) as client:
                for item in client.deploy_stack(stack, node.name, files):
                    if item.get("step") == "start":
                        started.set()
        except Exception:  # noqa: BLE001, S110 - the server dies under this deploy
            pass

    thread = threading.Thread(target=deploy, daemon=True)
    thread.start()
    assert started.wait(120), "the deploy never started a container"
    assert server_pid(fleet3.server.data_dir) is not None
    stop_server(fleet3, signal.SIGKILL)
    thread.join(30)
    start_server(fleet3)
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
    names = docker(node, "ps", "-a", "--filter", f"label=com.docker.compose.project={stack}",
                   "--format", "{{.Names}} {{.State}}").splitlines()  # fmt: skip
    assert len(names) == 3, names
    assert all(line.endswith("running") for line in names)
    numbers = sorted(int(line.split()[0].rsplit("-", 1)[1]) for line in names)
    assert len(set(numbers)) == 3
    plan = fleetdeck_json("stack", "diff", stack, env=env)
    assert [c["action"] for c in plan] == ["unchanged"]
    fleetdeck("stack", "rm", stack, "-y", env=env)
