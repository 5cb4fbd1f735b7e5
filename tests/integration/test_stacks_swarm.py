"""Stacks on a real 3-node lab Swarm, through the CLI as an operator runs it.

``fleetdeck stack deploy NAME -f FILE --env swarm`` against the lab's server: deploy, no-op
re-deploy, rolling update under load, health-gated rollback, secrets, the missing routing
mesh, ps/ls/history, bad input and removal. Everything is checked with the docker CLI on the
manager too (``docker stack ls/ps/services``, ``docker service inspect``).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.conftest import fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker, reachable
from tests.integration.fleet_helpers import wait_for
from tests.integration.swarm_stack_helpers import load, stack_services

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

ENV = "swarm"

SECRET = "s3cr3t-" + uuid.uuid4().hex
STACK_FILE = """
services:
  web:
    image: ${WEB_IMAGE}
    environment:
      GREETING: hello
    networks: [front]
    secrets: [api_key]
    configs:
      - source: site
        target: /www/site.txt
    deploy:
      replicas: 3
  edge:
    image: ${WEB_IMAGE}
    ports:
      - "8081:80"
    networks: [front]
  worker:
    image: ${BASE_IMAGE}
    command: ["sh", "-c", "while true; do sleep 5; done"]
    networks: [back]
    deploy:
      resources:
        limits: {memory: 64m, cpus: "0.5"}
networks:
  front: {}
  back: {}
secrets:
  api_key:
    environment: API_KEY
configs:
  site:
    content: "site config v1"
"""
SICK = """
services:
  web:
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/cgi-bin/missing"]
      interval: 1s
      timeout: 1s
      retries: 2
"""


def _files(tmp_path: Path, record: LabRecord, web: str, *extra: str) -> list[str]:
    """``-f`` arguments: the stack file (with the web image given) plus overrides."""
    text = STACK_FILE.replace("${WEB_IMAGE}", record.images[web]).replace(
        "${BASE_IMAGE}", record.images["base"]
    )
    paths = [tmp_path / f"compose-{web}.yaml"]
    paths[0].write_text(text)
    for index, override in enumerate(extra):
        paths.append(tmp_path / f"override{index}.yaml")
        paths[-1].write_text(override)
    return [arg for path in paths for arg in ("-f", str(path))]


def _deploy(record: LabRecord, stack: str, files: list[str], *, ok: bool = True) -> str:
    """Run ``stack deploy``; answer what it said. ``ok`` is whether it must succeed."""
    proc = fleetdeck(
        "stack", "deploy", stack, *files, "--env", ENV, env=server_env(record), check=False
    )
    said = proc.stdout + proc.stderr
    assert (proc.returncode == 0) is ok, said
    assert SECRET not in said
    return said


def _with_secret(record: LabRecord, stack: str) -> None:
    fleetdeck(
        "stack",
        "vars",
        "set",
        stack,
        "API_KEY",
        "--secret",
        "--value-stdin",
        env=server_env(record),
        stdin=SECRET,
    )


def _versions(record: LabRecord, stack: str) -> dict[str, int]:
    manager = record.nodes[0]
    names = docker(manager, "stack", "services", stack, "--format", "{{.Name}}").split()
    out = docker(manager, "service", "inspect", *names)
    return {s["Spec"]["Name"]: s["Version"]["Index"] for s in json.loads(out)}


def _leftovers(node: NodeRecord, kind: str, stack: str) -> list[str]:
    names = docker(node, kind, "ls", "--format", "{{.Name}}").split()
    return [name for name in names if name.startswith(f"{stack}_")]


def test_deploy_redeploy_status_and_remove(swarm3: LabRecord, tmp_path: Path) -> None:
    stack = f"st{uuid.uuid4().hex[:6]}"
    manager = swarm3.nodes[0]
    env = server_env(swarm3)
    files = _files(tmp_path, swarm3, "web")
    _with_secret(swarm3, stack)
    changes = fleetdeck_json("stack", "diff", stack, *files, "--env", ENV, env=env)
    assert {c["service"]: c["action"] for c in changes} == {
        "web": "create",
        "edge": "create",
        "worker": "create",
    }
    shown = fleetdeck("stack", "diff", stack, *files, "--env", ENV, env=env).stdout
    assert "routing mesh is unavailable" in shown

    out = _deploy(swarm3, stack, files)
    assert "3 service(s) changed" in out

    # docker's own CLI recognises the stack
    assert stack in docker(manager, "stack", "ls", "--format", "{{.Name}}").split()
    assert stack_services(manager, stack) == {
        f"{stack}_web": "3/3",
        f"{stack}_edge": "1/1",
        f"{stack}_worker": "1/1",
    }
    tasks = docker(manager, "stack", "ps", stack, "--format", "{{.Name}} {{.CurrentState}}")
    assert sum(1 for line in tasks.splitlines() if "Running" in line) == 5
    spec = json.loads(docker(manager, "service", "inspect", f"{stack}_web"))[0]["Spec"]
    assert spec["UpdateConfig"]["FailureAction"] == "rollback"
    assert spec["UpdateConfig"]["Order"] == "start-first"
    assert spec["RollbackConfig"]["FailureAction"] == "pause"
    assert spec["EndpointSpec"]["Mode"] == "dnsrr"
    edge = json.loads(docker(manager, "service", "inspect", f"{stack}_edge"))[0]["Spec"]
    assert edge["EndpointSpec"]["Ports"][0]["PublishMode"] == "host"
    assert edge["UpdateConfig"]["Order"] == "stop-first"  # host port: two cannot bind it

    # the secret is a Swarm secret, readable in the task, and never shown by fleetdeck
    container = docker(
        manager, "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack}_web"
    ).split()[0]
    assert docker(manager, "exec", container, "cat", "/run/secrets/api_key") == SECRET
    assert docker(manager, "exec", container, "cat", "/www/site.txt") == "site config v1"
    assert any(n.startswith(f"{stack}_api_key_") for n in _leftovers(manager, "secret", stack))
    variables = fleetdeck("stack", "vars", "ls", stack, "-o", "json", env=env).stdout
    assert SECRET not in variables

    # the host-mode port answers on the node that runs the edge task
    edge_nodes = docker(
        manager,
        "service",
        "ps",
        f"{stack}_edge",
        "--format",
        "{{.Node}}",
        "--filter",
        "desired-state=running",
    ).split()
    node = next(n for n in swarm3.nodes if n.hostname in edge_nodes)
    assert wait_for("edge port", lambda: reachable(node, f"http://{node.ip}:8081/"))

    # re-deploying unchanged changes nothing
    before = _versions(swarm3, stack)
    again = fleetdeck_json("stack", "diff", stack, *files, "--env", ENV, env=env)
    assert {c["action"] for c in again} == {"unchanged"}
    assert "nothing to change" in _deploy(swarm3, stack, files)
    assert _versions(swarm3, stack) == before

    services = {s["service"]: s for s in fleetdeck_json("stack", "ps", stack, env=env)}
    assert (services["web"]["desired"], services["web"]["running"]) == (3, 3)
    listed = {s["name"]: s for s in fleetdeck_json("stack", "ls", env=env)}
    assert listed[stack]["kind"] == "swarm" and listed[stack]["managed"]
    history = fleetdeck_json("stack", "history", stack, env=env)
    assert [h["result"] for h in history] == ["ok"]  # the unchanged re-deploy added none
    assert "@sha256:" in history[0]["image_digests"]["web"]

    fleetdeck("stack", "rm", stack, "--yes", env=env)
    assert stack not in docker(manager, "stack", "ls", "--format", "{{.Name}}").split()
    assert not _leftovers(manager, "secret", stack)
    # a node forgets a removed overlay network once its last task there has stopped
    wait_for("networks gone", lambda: not _leftovers(manager, "network", stack), timeout=60)


def test_rolling_update_under_load_then_failed_health_rolls_back(
    swarm3: LabRecord, tmp_path: Path
) -> None:
    stack = f"su{uuid.uuid4().hex[:6]}"
    manager = swarm3.nodes[0]
    env = server_env(swarm3)
    _with_secret(swarm3, stack)
    _deploy(swarm3, stack, _files(tmp_path, swarm3, "web"))

    v2 = _files(tmp_path, swarm3, "web_v2")
    changes = fleetdeck_json("stack", "diff", stack, *v2, "--env", ENV, env=env)
    web = next(c for c in changes if c["service"] == "web")
    assert web["action"] == "recreate" and "image" in web["reason"]
    url = f"http://{stack}_web/cgi-bin/hello"
    with load(manager, f"{stack}_front", url, swarm3.images["base"]) as running:
        wait_for("load running", lambda: running.counts()[0] >= 20, timeout=60)
        before_ok, _ = running.counts()
        _deploy(swarm3, stack, v2)
        wait_for(
            "requests after the update", lambda: running.counts()[0] > before_ok + 20, timeout=60
        )
        ok, failed = running.counts()
    assert failed == 0, f"{failed} failed requests during the update ({ok} succeeded)"
    images = docker(
        manager,
        "service",
        "ps",
        f"{stack}_web",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Image}}",
    ).split()
    assert len(images) == 3 and all("web:2" in image for image in images)

    # a new version whose healthcheck fails is rolled back by Swarm, and said so
    said = _deploy(swarm3, stack, _files(tmp_path, swarm3, "web", SICK), ok=False)
    said = " ".join(said.split())  # the console wraps long lines
    assert "Swarm rolled it back" in said and "unhealthy" in said
    history = fleetdeck_json("stack", "history", stack, env=env)
    assert history[0]["result"] == "rolled_back"
    # why, from the failed task's error, and rolled back said once (not "rolled back: … and
    # Swarm rolled it back" as before)
    message = history[0]["message"]
    assert message.count("rolled") == 1 and "unhealthy" in message, message
    # edge was updated by the same deploy: the whole stack went back, not just web
    assert "fleetdeck/web:2@sha256:" in history[0]["image_digests"]["web"]
    assert "fleetdeck/web:2@sha256:" in history[0]["image_digests"]["edge"]
    assert stack_services(manager, stack)[f"{stack}_web"] == "3/3"
    assert stack_services(manager, stack)[f"{stack}_edge"] == "1/1"
    fleetdeck("stack", "rm", stack, "--yes", env=env)


def test_bad_input_is_refused_before_anything_changes(swarm3: LabRecord, tmp_path: Path) -> None:
    stack = f"sb{uuid.uuid4().hex[:6]}"
    manager = swarm3.nodes[0]
    _with_secret(swarm3, stack)
    privileged = "services:\n  web:\n    privileged: true\n"
    missing_image = swarm3.images["base"].replace("base:latest", "nope:1")
    missing = f"services:\n  worker:\n    image: {missing_image}\n"
    for override, expected in ((privileged, "privileged"), (missing, "nope:1")):
        said = _deploy(swarm3, stack, _files(tmp_path, swarm3, "web", override), ok=False)
        assert expected in said
    assert stack not in docker(manager, "stack", "ls", "--format", "{{.Name}}").split()
    assert not _leftovers(manager, "network", stack)
