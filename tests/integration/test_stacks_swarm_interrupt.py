"""A Swarm deploy cut short by killing the server converges on the next deploy.

The server is killed (SIGKILL, nothing flushed) while it sends a cold deploy's services to the
manager: some may exist, some not, networks and secrets half made. After a restart the next
``stack deploy`` must start from what the Swarm holds, finish the job, and leave exactly one
service per stack service, every one converged, then nothing to change.
"""

from __future__ import annotations

import signal
import threading
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for
from tests.integration.server_helpers import start_server, stop_server
from tests.integration.swarm_stack_helpers import stack_services

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

ENV = "swarm"
STACK_FILE = """
services:
  web:
    image: {web}
    networks: [front]
    configs: [{{source: site, target: /www/site.txt}}]
    deploy: {{replicas: 2}}
  api:
    image: {web}
    networks: [front, back]
  worker:
    image: {base}
    command: ["sh", "-c", "while true; do sleep 5; done"]
    networks: [back]
networks:
  front: {{}}
  back: {{}}
configs:
  site:
    content: "site v1"
"""


def test_a_swarm_deploy_killed_mid_way_converges_on_the_next_deploy(
    swarm3: LabRecord, tmp_path: Path
) -> None:
    stack = f"sk{uuid.uuid4().hex[:6]}"
    manager, env = swarm3.nodes[0], server_env(swarm3)
    text = STACK_FILE.format(web=swarm3.images["web"], base=swarm3.images["base"])
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    sending = threading.Event()

    def deploy() -> None:
        try:
            with client_for(swarm3) as client:
                files = [{"name": "compose.yaml", "content": text}]
                for item in client.deploy_stack(stack, ENV, files):
                    if item.get("step") == "create" and item.get("status") == "started":
                        sending.set()
        except Exception:  # noqa: BLE001, S110 - the server dies under this deploy
            pass

    thread = threading.Thread(target=deploy, daemon=True)
    thread.start()
    try:
        assert sending.wait(120), "the deploy never started sending services"
        stop_server(swarm3, signal.SIGKILL)
        thread.join(30)
    finally:
        start_server(swarm3)
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", ENV, env=env)
    mine = f"label=com.docker.stack.namespace={stack}"
    names = docker(manager, "service", "ls", "--filter", mine, "--format", "{{.Name}}").split()
    assert sorted(names) == sorted(f"{stack}_{s}" for s in ("web", "api", "worker")), names
    want = {f"{stack}_web": "2/2", f"{stack}_api": "1/1", f"{stack}_worker": "1/1"}
    wait_for("every service converged", lambda: stack_services(manager, stack) == want,
             timeout=120)  # fmt: skip
    assert len(docker(manager, "config", "ls", "--filter", mine, "-q").split()) == 1
    plan = fleetdeck_json("stack", "diff", stack, "-f", str(path), "--env", ENV, env=env)
    assert {c["action"] for c in plan} == {"unchanged"}, plan
    assert fleetdeck_json("stack", "history", stack, env=env)[0]["result"] == "ok"
    fleetdeck("stack", "rm", stack, "--yes", env=env)
    wait_for("the services gone", lambda: not docker(
        manager, "service", "ls", "--filter", mine, "-q").split(), timeout=60)  # fmt: skip
