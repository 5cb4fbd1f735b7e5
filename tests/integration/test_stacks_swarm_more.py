"""More of issue #5 on a real 3-node lab Swarm, through the CLI (``--env swarm``).

Adopting a stack ``docker stack deploy`` made (then updating its services in place), rolling
back to an exact earlier revision (image digest, config content, secret value), hardening
findings in diff and deploy output, a worker partitioned in the middle of an update (the
deploy ends, naming the node; after healing, a re-deploy converges), and a service no node
can run (the deploy fails with Swarm's reason instead of waiting out its timeout).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.lab import Lab
from tests.conftest import fleetdeck, fleetdeck_json, lab_name, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for
from tests.integration.swarm_stack_helpers import (
    service_inspect,
    service_versions,
    stack_services,
    update_state,
)

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

ENV = "swarm"


def _cli_env(record: LabRecord) -> dict[str, str]:
    """The CLI pointed at the lab's server, printing wide.

    Rich wraps at 80 columns without a terminal, which could split a node name or a finding
    across lines.
    """
    return {**server_env(record), "COLUMNS": "500"}


def _write(tmp_path: Path, name: str, text: str) -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    return ["-f", str(path)]


def _deploy(record: LabRecord, stack: str, files: list[str], *, ok: bool = True) -> str:
    """``stack deploy`` (``ok``: whether it must succeed); answer what it printed."""
    proc = fleetdeck(
        "stack", "deploy", stack, *files, "--env", ENV, env=_cli_env(record), check=False
    )
    said = proc.stdout + proc.stderr
    assert (proc.returncode == 0) is ok, said
    return said


def _set_secret(record: LabRecord, stack: str, key: str, value: str) -> None:
    fleetdeck("stack", "vars", "set", stack, key, "--secret", "--value-stdin",
              env=server_env(record), stdin=value)  # fmt: skip


def _remove(record: LabRecord, stack: str) -> None:
    fleetdeck("stack", "rm", stack, "--yes", env=server_env(record), check=False)


def _running_tasks(manager: NodeRecord, service: str) -> list[tuple[str, str]]:
    """(node hostname, image) of the service's tasks meant to run."""
    out = docker(manager, "service", "ps", service, "--filter", "desired-state=running",
                 "--format", "{{.Node}} {{.Image}}")  # fmt: skip
    return [(line.split()[0], line.split()[1]) for line in out.splitlines() if line.strip()]


def _spec_image(manager: NodeRecord, service: str) -> str:
    spec = service_inspect(manager, service)[0]["Spec"]
    return str(spec["TaskTemplate"]["ContainerSpec"]["Image"])


# ------------------------------------------------------------------------------ adoption
def _docker_stack_file(record: LabRecord, greeting: str) -> str:
    return f"""version: "3.8"
services:
  web:
    image: {record.images["web"]}
    environment:
      GREETING: {greeting}
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
  side:
    image: {record.images["base"]}
    command: ["sleep", "86400"]
    stop_grace_period: 1s
    deploy:
      endpoint_mode: dnsrr
"""


def _listed(env: dict[str, str], stack: str) -> dict[str, Any] | None:
    stacks = fleetdeck_json("stack", "ls", "--env", ENV, env=env)
    return next((s for s in stacks if s["name"] == stack), None)


def test_adopt_a_docker_stack_deploy_stack_then_update_in_place(
    swarm3: LabRecord, tmp_path: Path
) -> None:
    stack = f"sa{uuid.uuid4().hex[:6]}"
    manager, env = swarm3.nodes[0], server_env(swarm3)
    path = tmp_path / "stack.yml"
    path.write_text(_docker_stack_file(swarm3, "hello"))
    docker(manager, "stack", "deploy", "-c", str(path), stack)
    try:
        expected = {f"{stack}_web": "2/2", f"{stack}_side": "1/1"}
        wait_for("docker's stack running", lambda: stack_services(manager, stack) == expected,
                 timeout=180)  # fmt: skip
        made_by_docker = service_versions(manager, stack)

        listed = wait_for(f"{stack} listed", lambda: _listed(env, stack), timeout=60)
        assert listed["managed"] is False and listed["kind"] == "swarm"
        assert listed["environment"] == ENV and listed["made_by"] == "docker stack deploy"

        adopted = fleetdeck_json("stack", "adopt", stack, "-f", str(path), "--env", ENV, env=env)
        assert adopted["managed"] is True and adopted["warnings"] == []
        assert service_versions(manager, stack) == made_by_docker  # nothing was touched
        assert _listed(env, stack)["managed"] is True  # type: ignore[index]

        changed = _write(tmp_path, "changed.yml", _docker_stack_file(swarm3, "bonjour"))
        plan = fleetdeck_json("stack", "diff", stack, *changed, "--env", ENV, env=env)
        assert {c["service"]: c["action"] for c in plan} == {"web": "recreate", "side": "recreate"}
        _deploy(swarm3, stack, changed)

        updated = service_versions(manager, stack)
        # The same services, updated in place: same IDs, newer versions, no second copy.
        assert sorted(updated) == sorted(made_by_docker)
        for name, (service_id, version) in updated.items():
            assert service_id == made_by_docker[name][0]
            assert version > made_by_docker[name][1]
        web = service_inspect(manager, f"{stack}_web")[0]["Spec"]
        assert "GREETING=bonjour" in web["TaskTemplate"]["ContainerSpec"]["Env"]
        wait_for("2/2 and 1/1", lambda: stack_services(manager, stack) == expected, timeout=120)

        again = fleetdeck_json("stack", "diff", stack, *changed, "--env", ENV, env=env)
        assert {c["action"] for c in again} == {"unchanged"}, again
    finally:
        _remove(swarm3, stack)
        docker(manager, "stack", "rm", stack, check=False)


# ------------------------------------------------------------------------------ rollback
def _revision_file(image: str, site: str) -> str:
    return f"""services:
  web:
    image: {image}
    secrets: [token]
    configs:
      - source: site
        target: /www/site.txt
secrets:
  token:
    environment: TOKEN
configs:
  site:
    content: "{site}"
"""


def _task_file(record: LabRecord, service: str, path: str) -> str | None:
    """A file's content in the service's running task, read on the node that runs it."""
    tasks = _running_tasks(record.nodes[0], service)
    if len(tasks) != 1:
        return None
    node = next(n for n in record.nodes if n.hostname == tasks[0][0])
    ids = docker(node, "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}")
    if len(ids.split()) != 1:
        return None  # the replaced task is still there
    return docker(node, "exec", ids.split()[0], "cat", path, check=False)


def test_rollback_restores_an_exact_revision(swarm3: LabRecord, tmp_path: Path) -> None:
    stack = f"sr{uuid.uuid4().hex[:6]}"
    manager, env = swarm3.nodes[0], server_env(swarm3)
    secret1, secret2 = f"s1-{uuid.uuid4().hex}", f"s2-{uuid.uuid4().hex}"
    site1, site2 = f"site X {uuid.uuid4().hex[:8]}", f"site Y {uuid.uuid4().hex[:8]}"
    try:
        _set_secret(swarm3, stack, "TOKEN", secret1)
        _deploy(swarm3, stack, _write(tmp_path, "r1.yml", _revision_file(
            swarm3.images["web"], site1)))  # fmt: skip
        _set_secret(swarm3, stack, "TOKEN", secret2)
        _deploy(swarm3, stack, _write(tmp_path, "r2.yml", _revision_file(
            swarm3.images["web_v2"], site2)))  # fmt: skip
        web = f"{stack}_web"
        assert "web:2@sha256:" in _spec_image(manager, web)
        wait_for("revision 2's secret", lambda: _task_file(swarm3, web, "/run/secrets/token")
                 == secret2, timeout=120)  # fmt: skip

        said = fleetdeck("stack", "rollback", stack, "1", env=env, check=False)
        assert said.returncode == 0, said.stdout + said.stderr
        assert secret1 not in said.stdout + said.stderr

        history = fleetdeck_json("stack", "history", stack, env=env)
        first = next(h for h in history if h["revision"] == 1)
        assert history[0]["revision"] == 3 and history[0]["result"] == "ok"
        assert "rollback to revision 1" in history[0]["message"]
        assert "web:1@sha256:" in first["image_digests"]["web"]
        # exactly revision 1's image, by digest, in the spec Swarm runs
        assert _spec_image(manager, web) == first["image_digests"]["web"]
        assert history[0]["image_digests"]["web"] == first["image_digests"]["web"]
        in_task = lambda: _task_file(swarm3, web, "/www/site.txt") == site1  # noqa: E731
        wait_for("revision 1's config in the task", in_task, timeout=120)
        assert _task_file(swarm3, web, "/run/secrets/token") == secret1
        assert all("web:1" in image for _, image in _running_tasks(manager, web))
    finally:
        _remove(swarm3, stack)


# ------------------------------------------------------------------------------ hardening
def test_hardening_findings_show_on_swarm_diff_and_deploy(
    swarm3: LabRecord, tmp_path: Path
) -> None:
    stack = f"sh{uuid.uuid4().hex[:6]}"
    env = _cli_env(swarm3)
    # The socket-mounting service has no replicas: its findings matter, not its tasks.
    files = _write(tmp_path, "hardening.yml", f"""services:
  web:
    image: {swarm3.images["web"]}
    user: "1000"
    deploy:
      resources:
        limits: {{memory: 64m}}
  agent:
    image: {swarm3.images["base"]}
    command: ["sleep", "86400"]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
    deploy:
      replicas: 0
""")  # fmt: skip
    try:
        diff = fleetdeck("stack", "diff", stack, *files, "--env", ENV, env=env).stdout
        deployed = _deploy(swarm3, stack, files)
        for shown in (diff, deployed):
            assert "agent: mounts the Docker socket at /var/run/docker.sock" in shown, shown
            assert "(docker-socket)" in shown
            assert "agent: has no memory limit (no-memory-limit)" in shown
            assert "agent: " in shown and "(latest-tag)" in shown
            assert "web: has no memory limit" not in shown
    finally:
        _remove(swarm3, stack)


# ------------------------------------------------------------------------------ partition
def _spread_file(record: LabRecord, web: str) -> str:
    return f"""services:
  web:
    image: {record.images[web]}
    deploy:
      replicas: 3
      placement:
        preferences:
          - spread: node.id
  side:
    image: {record.images["base"]}
    command: ["sleep", "86400"]
    stop_grace_period: 1s
"""


def _node_status(manager: NodeRecord, node: NodeRecord) -> str:
    out = docker(manager, "node", "ls", "--format", "{{.Hostname}} {{.Status}}")
    return dict(line.split(" ", 1) for line in out.splitlines() if line).get(node.hostname, "")


def test_a_worker_partitioned_mid_update_ends_the_deploy(swarm3: LabRecord, tmp_path: Path) -> None:
    stack = f"sp{uuid.uuid4().hex[:6]}"
    manager, env = swarm3.nodes[0], _cli_env(swarm3)
    web = f"{stack}_web"
    expected = {web: "3/3", f"{stack}_side": "1/1"}
    try:
        _deploy(swarm3, stack, _write(tmp_path, "v1.yml", _spread_file(swarm3, "web")))
        holders = {host for host, _ in _running_tasks(manager, web)}
        worker = next(n for n in swarm3.nodes[1:] if n.hostname in holders)

        v2 = _write(tmp_path, "v2.yml", _spread_file(swarm3, "web_v2"))
        argv = [sys.executable, "-m", "fleetdeck", "stack", "deploy", stack, *v2, "--env", ENV]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env={**os.environ, **env})  # fmt: skip
        lab = Lab(lab_name("swarm"))
        try:
            wait_for("the update started", lambda: update_state(manager, web) == "updating",
                     timeout=180)  # fmt: skip
            lab.partition(worker.name)
            said, _ = proc.communicate(timeout=560)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            lab.heal(worker.name)
        assert proc.returncode in (0, 1), said
        if proc.returncode == 1:
            assert worker.hostname in said or "rolled back" in said, said

        wait_for(f"{worker.hostname} Ready", lambda: _node_status(manager, worker) == "Ready",
                 timeout=180)  # fmt: skip
        wait_for("Swarm's update settled",
                 lambda: update_state(manager, web) not in ("updating", "rollback_started"),
                 timeout=300)  # fmt: skip
        _deploy(swarm3, stack, v2)
        # A task replaced on the healed worker may still be stopping: wait, do not assume.
        wait_for("3/3 and 1/1", lambda: stack_services(manager, stack) == expected, timeout=180)
        assert all("web:2" in image for _, image in _running_tasks(manager, web))
    finally:
        _remove(swarm3, stack)


# ------------------------------------------------------------------------------ unplaceable
def _placed_file(record: LabRecord, web: str, constraint: str | None) -> str:
    placement = f"\n      placement:\n        constraints: [{constraint}]" if constraint else ""
    return f"""services:
  web:
    image: {record.images[web]}
    deploy:
      replicas: 2{placement}
"""


def test_a_service_no_node_can_run_fails_with_swarms_reason(
    swarm3: LabRecord, tmp_path: Path
) -> None:
    stack = f"sn{uuid.uuid4().hex[:6]}"
    manager, env = swarm3.nodes[0], server_env(swarm3)
    web = f"{stack}_web"
    try:
        _deploy(swarm3, stack, _write(tmp_path, "ok.yml", _placed_file(swarm3, "web", None)))
        before = _spec_image(manager, web)

        bad = _write(tmp_path, "bad.yml", _placed_file(swarm3, "web_v2", '"node.labels.nosuch==1"'))
        said = _deploy(swarm3, stack, bad, ok=False)
        assert "no suitable node" in said and "rolled back" in said, said
        history = fleetdeck_json("stack", "history", stack, env=env)
        assert history[0]["result"] == "rolled_back"
        # Rolled back with the stack: the previous spec (no constraint, old image) runs.
        spec = service_inspect(manager, web)[0]["Spec"]
        assert not (spec["TaskTemplate"].get("Placement") or {}).get("Constraints")
        assert _spec_image(manager, web) == before
        wait_for("2/2", lambda: stack_services(manager, stack) == {web: "2/2"}, timeout=120)

        _deploy(swarm3, stack, _write(tmp_path, "fixed.yml", _placed_file(swarm3, "web_v2", None)))
        wait_for("2/2 on v2", lambda: stack_services(manager, stack) == {web: "2/2"}, timeout=120)
        assert all("web:2" in image for _, image in _running_tasks(manager, web))
    finally:
        _remove(swarm3, stack)
