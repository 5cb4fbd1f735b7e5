"""Adopting a Compose project that Debian's docker-compose 1.29 started on a lab node.

It is listed as an unmanaged stack; ``stack adopt`` attaches its file without restarting
anything; the first deploy replaces docker-compose's containers once (fleetdeck cannot match
their config hash) and the next one leaves them alone: never a duplicate container.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

PROJECT_LABEL = "com.docker.compose.project"


def _compose_file(record: LabRecord) -> str:
    return f"""services:
  web:
    image: {record.images["web"]}
    deploy:
      replicas: 2
  side:
    image: {record.images["base"]}
    command: ["sleep", "86400"]
    stop_grace_period: 1s
"""


def _docker_compose(node: NodeRecord, project: str, path: Path, *args: str) -> None:
    proc = subprocess.run(
        ["docker-compose", "-p", project, "-f", str(path), *args],
        capture_output=True, text=True, check=False, timeout=180,
        env={**os.environ, "DOCKER_HOST": node.docker_host},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def _containers(node: NodeRecord, project: str) -> dict[str, dict[str, str]]:
    """Name → {id, fleetdeck revision label} of the project's containers (all states)."""
    fmt = '{{.Names}} {{.ID}} {{.Label "io.fleetdeck.stack.revision"}}'
    out = docker(node, "ps", "-a", "--filter", f"label={PROJECT_LABEL}={project}", "--format", fmt)
    found = {}
    for line in out.splitlines():
        name, cid, *rev = line.split()
        found[name] = {"id": cid, "revision": rev[0] if rev else ""}
    return found


def _listed(env: dict[str, str], project: str) -> dict[str, Any] | None:
    return next((s for s in fleetdeck_json("stack", "ls", env=env) if s["name"] == project), None)


def test_adopt_a_docker_compose_project_then_deploy_without_duplicates(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[2]
    project = f"adopt{uuid.uuid4().hex[:6]}"
    path = tmp_path / "docker-compose.yml"
    path.write_text(_compose_file(fleet3))
    _docker_compose(node, project, path, "up", "-d")
    try:
        made_by_compose = _containers(node, project)
        assert sorted(made_by_compose) == [
            f"{project}_side_1",
            f"{project}_web_1",
            f"{project}_web_2",
        ]

        listed = wait_for(f"{project} listed as unmanaged", lambda: _listed(env, project))
        assert listed["managed"] is False and listed["environment"] == node.name
        assert listed["kind"] == "host" and listed["services"] == 2

        # Refused before anything changes: wrong environment, bad file.
        wrong = fleetdeck("stack", "adopt", project, "-f", str(path), "--env", fleet3.nodes[0].name,
                          env=env, check=False)  # fmt: skip
        assert wrong.returncode == 4 and node.name in wrong.stderr
        bad = tmp_path / "bad.yml"
        bad.write_text("services:\n  web:\n    imagee: x\n")
        refused = fleetdeck("stack", "adopt", project, "-f", str(bad), "--env", node.name,
                            env=env, check=False)  # fmt: skip
        assert refused.returncode == 2 and "imagee" in refused.stderr
        assert _listed(env, project)["managed"] is False  # type: ignore[index]

        adopted = fleetdeck_json("stack", "adopt", project, "-f", str(path), "--env", node.name,
                                 env=env)  # fmt: skip
        assert adopted["managed"] is True and adopted["warnings"] == []
        assert _containers(node, project) == made_by_compose  # adopting restarts nothing
        assert _listed(env, project)["managed"] is True  # type: ignore[index]
        again = fleetdeck("stack", "adopt", project, "-f", str(path), "--env", node.name,
                          env=env, check=False)  # fmt: skip
        assert again.returncode == 5  # already managed

        # docker-compose's config hash is not fleetdeck's: each container is replaced once.
        plan = fleetdeck_json("stack", "diff", project, env=env)
        assert {c["service"]: c["action"] for c in plan} == {"web": "recreate", "side": "recreate"}
        assert all("adopted, config hash unknown" in c["reason"] for c in plan), plan
        fleetdeck("stack", "deploy", project, env=env)
        deployed = _containers(node, project)
        # Replaced, not duplicated: 2 web + 1 side, all fleetdeck's now (Compose v2 names).
        assert sorted(n.rsplit("-", 1)[0] for n in deployed) == [
            f"{project}-side",
            f"{project}-web",
            f"{project}-web",
        ]
        assert all(c["revision"] for c in deployed.values())

        # Re-deploying the unchanged stack touches nothing: same containers, no duplicates.
        plan = fleetdeck_json("stack", "diff", project, env=env)
        assert all(c["action"] == "unchanged" for c in plan), plan
        fleetdeck("stack", "deploy", project, env=env)
        assert _containers(node, project) == deployed
        ps = {s["service"]: s for s in fleetdeck_json("stack", "ps", project, env=env)}
        assert ps["web"]["running"] == 2 and ps["side"]["running"] == 1
    finally:
        fleetdeck("stack", "rm", project, "-y", env=env, check=False)
        _docker_compose(node, project, path, "down", "-t", "1")
    assert _containers(node, project) == {}


def test_adopting_what_does_not_run_is_refused(fleet3: LabRecord, tmp_path: Path) -> None:
    env, node = server_env(fleet3), fleet3.nodes[0]
    path = tmp_path / "compose.yaml"
    path.write_text(_compose_file(fleet3))
    missing = fleetdeck("stack", "adopt", "nosuchproject", "-f", str(path), "--env", node.name,
                        env=env, check=False)  # fmt: skip
    assert missing.returncode == 4
    assert "nosuchproject" in missing.stderr and "stack ls" in missing.stderr
    no_file = fleetdeck("stack", "adopt", "x", "--env", node.name, env=env, check=False)
    assert no_file.returncode == 2 and "-f FILE" in no_file.stderr
