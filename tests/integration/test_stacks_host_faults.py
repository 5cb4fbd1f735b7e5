"""A failed health gate on a plain host under ``update_config.failure_action`` pause / continue.

(``rollback``, the default, is covered by test_stacks_host.py's failed-update test.)
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.conftest import fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

SICK = "    healthcheck: {test: [CMD, 'false'], interval: 1s, timeout: 1s, retries: 1}\n"


def _compose(image: str, failure_action: str, healthcheck: str = "") -> str:
    return (
        f"services:\n  web:\n    image: {image}\n"
        "    deploy:\n      replicas: 3\n"
        f"      update_config: {{parallelism: 1, order: start-first, "
        f"failure_action: {failure_action}}}\n" + healthcheck
    )


def _containers(node: NodeRecord, stack: str) -> dict[str, tuple[str, str]]:
    """Name → (id, state) of the stack's containers."""
    out = docker(node, "ps", "-a", "--filter", f"label=com.docker.compose.project={stack}",
                 "--format", "{{.Names}} {{.ID}} {{.State}}")  # fmt: skip
    return {n: (i, s) for n, i, s in (line.split() for line in out.splitlines() if line.strip())}


def _has_service_name(node: NodeRecord, container: str, stack: str) -> bool:
    networks = json.loads(docker(node, "inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                 container))  # fmt: skip
    return "web" in (networks[f"{stack}_default"].get("Aliases") or [])


def _deploy(env: dict[str, str], node: NodeRecord, stack: str, path: Path) -> tuple[int, str]:
    out = fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env,
                    check=False)  # fmt: skip
    assert "Traceback" not in out.stderr
    return out.returncode, out.stderr


def test_pause_stops_where_it_is_and_continue_replaces_every_replica(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[0]
    stack = f"f{uuid.uuid4().hex[:6]}"
    image = fleet3.images["web"]
    good = tmp_path / "good.yaml"
    good.write_text(_compose(image, "pause"))
    assert _deploy(env, node, stack, good)[0] == 0
    before = _containers(node, stack)
    assert len(before) == 3
    try:
        # pause: the first new replica fails its gate; the update stops there, nothing undone.
        paused = tmp_path / "paused.yaml"
        paused.write_text(_compose(image, "pause", SICK))
        code, err = _deploy(env, node, stack, paused)
        assert code == 1 and "paused" in err and "failed its healthcheck" in err, err
        now = _containers(node, stack)
        assert {n: now[n] for n in before} == before  # the old replicas serve on, untouched
        new = [n for n in now if n not in before]
        assert len(new) == 1 and now[new[0]][1] == "running", now
        assert not _has_service_name(node, new[0], stack)  # it never got the name
        assert all(_has_service_name(node, n, stack) for n in before)
        history = fleetdeck_json("stack", "history", stack, env=env)
        assert history[0]["result"] == "failed" and "paused" in history[0]["message"]
        # continue: every replica is replaced anyway; the failed ones run, without the name.
        cont = tmp_path / "continue.yaml"
        cont.write_text(_compose(image, "continue", SICK))
        code, err = _deploy(env, node, stack, cont)
        assert code == 1 and "continued" in err and "without the service name" in err, err
        now = _containers(node, stack)
        assert len(now) == 3, now
        assert not {i for i, _ in now.values()} & {i for i, _ in before.values()}
        assert all(state == "running" for _, state in now.values()), now
        assert not any(_has_service_name(node, n, stack) for n in now)
        history = fleetdeck_json("stack", "history", stack, env=env)
        assert history[0]["result"] == "failed"  # not rolled_back: nothing was undone
    finally:
        fleetdeck("stack", "rm", stack, "-y", env=env, check=False)
