"""Stacks on a real 3-node lab Swarm.

Deploy, no-op re-deploy, rolling update under load, health-gated rollback, secrets, the
missing routing mesh, status, discovery and removal.

The applier runs in-process over the server's own mutual-TLS agent links (see
swarm_stack_helpers); everything it does is checked with the docker CLI on the manager, as an
operator would (``docker stack ls/ps/services``, ``docker service inspect``).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pytest

from fleetdeck.compose import load_project
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.stacks.plan import Action, DeployTarget, Strategy, TargetKind
from tests.integration.docker_cli import docker, reachable
from tests.integration.fleet_helpers import wait_for
from tests.integration.swarm_stack_helpers import (
    ENV,
    Recorder,
    applier_for,
    load,
    stack_services,
)

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.compose import Project
    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

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


def _project(tmp_path: Path, record: LabRecord, stack: str, web: str, *extra: str) -> Project:
    files = [tmp_path / "compose.yaml"]
    files[0].write_text(STACK_FILE)
    for index, text in enumerate(extra):
        files.append(tmp_path / f"override{index}.yaml")
        files[-1].write_text(text)
    env = {"WEB_IMAGE": record.images[web], "BASE_IMAGE": record.images["base"]}
    return load_project(files, project_name=stack, env=env)


def _target(stack: str) -> DeployTarget:
    return DeployTarget(stack, ENV, TargetKind.swarm, secrets={"secret:api_key": SECRET.encode()})


def _versions(record: LabRecord, stack: str) -> dict[str, int]:
    manager = record.nodes[0]
    names = docker(manager, "stack", "services", stack, "--format", "{{.Name}}").split()
    out = docker(manager, "service", "inspect", *names)
    return {s["Spec"]["Name"]: s["Version"]["Index"] for s in json.loads(out)}


async def test_deploy_redeploy_status_and_remove(swarm3: LabRecord, tmp_path: Path) -> None:
    stack = f"st{uuid.uuid4().hex[:6]}"
    manager = swarm3.nodes[0]
    project = _project(tmp_path, swarm3, stack, "web")
    target = _target(stack)
    async with applier_for(swarm3) as applier:
        plan = await applier.plan(project, target)
        assert {c.service: c.action for c in plan.changes} == {
            "web": Action.create,
            "edge": Action.create,
            "worker": Action.create,
        }
        assert any("routing mesh is unavailable" in note for note in plan.notes)
        events = Recorder()
        outcome = await applier.apply(
            project, plan, target, strategy=Strategy.auto, progress=events
        )
        assert outcome.ok, outcome.message
        assert set(outcome.image_digests) == {"web", "edge", "worker"}
        assert all("@sha256:" in ref for ref in outcome.image_digests.values())

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

        # the secret is a Swarm secret, readable in the task, and never in what we report
        container = docker(
            manager, "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack}_web"
        ).split()[0]
        assert docker(manager, "exec", container, "cat", "/run/secrets/api_key") == SECRET
        assert docker(manager, "exec", container, "cat", "/www/site.txt") == "site config v1"
        secrets = docker(manager, "secret", "ls", "--format", "{{.Name}}").split()
        assert any(name.startswith(f"{stack}_api_key_") for name in secrets)
        reported = events.text() + json.dumps(plan.to_json()) + outcome.message
        assert SECRET not in reported

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
        again = await applier.plan(project, target)
        assert again.is_noop, again.to_json()
        outcome = await applier.apply(
            project, again, target, strategy=Strategy.auto, progress=Recorder()
        )
        assert outcome.ok and outcome.message == "nothing to change"
        assert _versions(swarm3, stack) == before

        status = {s.service: s for s in await applier.status(stack, target)}
        assert (status["web"].desired, status["web"].running) == (3, 3)
        discovered = {d.name: d for d in await applier.discover(target)}
        assert discovered[stack].managed and sorted(discovered[stack].services) == [
            "edge",
            "web",
            "worker",
        ]

        await applier.remove(stack, target, progress=Recorder())
    assert stack not in docker(manager, "stack", "ls", "--format", "{{.Name}}").split()
    assert not _leftovers(manager, "secret", stack)
    # a node forgets a removed overlay network once its last task there has stopped
    wait_for("networks gone", lambda: not _leftovers(manager, "network", stack), timeout=60)


def _leftovers(node: NodeRecord, kind: str, stack: str) -> list[str]:
    names = docker(node, kind, "ls", "--format", "{{.Name}}").split()
    return [name for name in names if name.startswith(f"{stack}_")]


async def test_rolling_update_under_load_then_failed_health_rolls_back(
    swarm3: LabRecord, tmp_path: Path
) -> None:
    stack = f"su{uuid.uuid4().hex[:6]}"
    manager = swarm3.nodes[0]
    target = _target(stack)
    async with applier_for(swarm3) as applier:
        v1 = _project(tmp_path, swarm3, stack, "web")
        outcome = await applier.apply(
            v1,
            await applier.plan(v1, target),
            target,
            strategy=Strategy.auto,
            progress=Recorder(),
        )
        assert outcome.ok, outcome.message

        v2 = _project(tmp_path, swarm3, stack, "web_v2")
        plan = await applier.plan(v2, target)
        web = next(c for c in plan.changes if c.service == "web")
        assert web.action is Action.recreate and "image" in web.reason
        url = f"http://{stack}_web/cgi-bin/hello"
        with load(manager, f"{stack}_front", url, swarm3.images["base"]) as running:
            wait_for("load running", lambda: running.counts()[0] >= 20, timeout=60)
            before_ok, _ = running.counts()
            outcome = await applier.apply(
                v2, plan, target, strategy=Strategy.auto, progress=Recorder()
            )
            assert outcome.ok, outcome.message
            after_ok = wait_for(
                "requests after the update",
                lambda: (lambda c: c if c[0] > before_ok + 20 else None)(running.counts()),
                timeout=60,
            )[0]
            ok, failed = running.counts()
        assert failed == 0, f"{failed} failed requests during the update ({ok} succeeded)"
        assert after_ok > before_ok
        assert "fleetdeck/web:2@sha256:" in outcome.image_digests["web"]
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
        sick = _project(tmp_path, swarm3, stack, "web", SICK)
        events = Recorder()
        outcome = await applier.apply(
            sick,
            await applier.plan(sick, target),
            target,
            strategy=Strategy.auto,
            progress=events,
        )
        assert not outcome.ok and outcome.rolled_back
        assert "rolled back" in outcome.message and "unhealthy" in outcome.message
        assert any(e.step == "rollback" and e.status == "failed" for e in events.events)
        assert "fleetdeck/web:2@sha256:" in outcome.image_digests["web"]
        # edge was updated by the same deploy: the whole stack went back, not just web
        assert "fleetdeck/web:2@sha256:" in outcome.image_digests["edge"]
        assert any(e.step == "rollback" and e.service == "edge" for e in events.events)
        assert stack_services(manager, stack)[f"{stack}_web"] == "3/3"
        assert stack_services(manager, stack)[f"{stack}_edge"] == "1/1"
        await applier.remove(stack, target, progress=Recorder())


async def test_bad_input_is_refused_before_anything_changes(
    swarm3: LabRecord, tmp_path: Path
) -> None:
    stack = f"sb{uuid.uuid4().hex[:6]}"
    manager = swarm3.nodes[0]
    target = _target(stack)
    privileged = "services:\n  web:\n    privileged: true\n"
    missing = (
        "services:\n  worker:\n    image: "
        + swarm3.images["base"].replace("base:latest", "nope:1")
        + "\n"
    )
    async with applier_for(swarm3) as applier:
        with pytest.raises(InvalidInputError, match="privileged"):
            await applier.plan(_project(tmp_path, swarm3, stack, "web", privileged), target)
        with pytest.raises(InvalidInputError, match="worker"):
            await applier.plan(_project(tmp_path, swarm3, stack, "web", missing), target)
        no_secret = DeployTarget(stack, ENV, TargetKind.swarm)
        with pytest.raises(InvalidInputError, match="api_key"):
            await applier.plan(_project(tmp_path, swarm3, stack, "web"), no_secret)
    assert stack not in docker(manager, "stack", "ls", "--format", "{{.Name}}").split()
    assert not _leftovers(manager, "network", stack)
