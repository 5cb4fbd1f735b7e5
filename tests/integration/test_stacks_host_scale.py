"""Scaling a plain-host stack service by hand, on the real lab: gates, drains, deploys, crashes.

``fleetdeck scale STACK/SERVICE=N`` adds replicas that join the service's DNS name only once
healthy and removes replicas only after they left the name and drained, so a client that
resolves the name per request never fails; the count survives a redeploy of the same file
and yields to a file whose count changed; a server killed mid-scale finishes it on restart.
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
from tests.integration.test_stacks_host import _compose, _fails, _ids, _write

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab


def _web(node: NodeRecord, stack: str) -> dict[str, str]:
    """The stack's web containers (name → state/health) that hold a replica number."""
    out = docker(node, "ps", "-a", "--filter", f"label=com.docker.compose.project={stack}",
                 "--filter", "label=com.docker.compose.service=web",
                 "--format", "{{.Names}} {{.Status}}")  # fmt: skip
    rows = [line.split(" ", 1) for line in out.splitlines() if line.strip()]
    return {name: status for name, status in rows if name.startswith(f"{stack}-web-")}


def _healthy(node: NodeRecord, stack: str, count: int) -> bool:
    web = _web(node, stack)
    return len(web) == count and all("(healthy)" in s for s in web.values())


def test_scale_up_and_down_under_load_and_a_deploy_keeps_the_count(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    """Scale 1→3→1 under load, redeploys keep the count, a changed file count wins.

    Over 60 s (about 75): four real converges (1→3, 3→1, 1→3, then a deploy to 2), each new
    replica gated by the web image's 2 s healthcheck and each removed one drained 2 s,
    on one stack so that the loader's requests run through all of them.
    """
    env, node = server_env(fleet3), fleet3.nodes[2]
    stack = f"sc{uuid.uuid4().hex[:6]}"
    base = fleet3.images["base"]
    path = _write(tmp_path, _compose(fleet3.images["web"], base, replicas=1))
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
    assert sorted(_web(node, stack)) == [f"{stack}-web-1"]
    # Up to 3: each new replica takes traffic only once healthy.
    up = fleetdeck_json("scale", f"{stack}/web=3", env=env)
    assert up[0]["previous"] == 1 and up[0]["replicas"] == 3, up
    assert _healthy(node, stack, 3), _web(node, stack)
    ps = {s["service"]: s for s in fleetdeck_json("stack", "ps", stack, env=env)}
    assert ps["web"]["healthy"] == 3 and ps["loader"]["running"] == 1
    # A redeploy of the same file keeps the scaled count (and changes nothing).
    plan = fleetdeck_json("stack", "diff", stack, "-f", str(path), "--env", node.name, env=env)
    assert all(c["action"] == "unchanged" for c in plan), plan
    before = _ids(node, stack)
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
    assert _ids(node, stack) == before
    # Back to 1: the replicas that go leave the name and drain before they stop.
    down = fleetdeck("scale", f"{stack}/web", "1", env=env)
    assert f"{stack}/web scaled to 1" in down.stdout
    assert list(_web(node, stack)) == [f"{stack}-web-1"], _web(node, stack)
    ok, failed = _fails(node, stack)
    assert failed == 0 and ok > 20, (ok, failed)
    # Bad input: a service the stack does not have (not found: 4), a count out of range.
    bad = fleetdeck("scale", f"{stack}/nope=2", env=env, check=False)
    assert bad.returncode == 4 and "has no service 'nope'" in bad.stderr, bad.stderr
    bad = fleetdeck("scale", f"{stack}/web=1000", env=env, check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr, bad.stderr
    # Scaled again, then the file's own count changes: the file wins.
    fleetdeck("scale", f"{stack}/web=3", env=env)
    two = _write(tmp_path, _compose(fleet3.images["web"], base, replicas=2), "two.yaml")
    fleetdeck("stack", "deploy", stack, "-f", str(two), "--env", node.name, env=env)
    assert _healthy(node, stack, 2), _web(node, stack)
    fleetdeck("stack", "rm", stack, "-y", env=env)


def test_a_server_killed_mid_scale_converges_on_restart(fleet3: LabRecord, tmp_path: Path) -> None:
    env, node = server_env(fleet3), fleet3.nodes[2]
    stack = f"sk{uuid.uuid4().hex[:6]}"
    path = _write(tmp_path, _compose(fleet3.images["web"], fleet3.images["base"], replicas=1))
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)

    def scale() -> None:
        try:
            with client_for(fleet3) as client:
                client.scale_stack_service(stack, "web", 4)
        except Exception:  # noqa: BLE001, S110 - the server dies under this scale
            pass

    thread = threading.Thread(target=scale, daemon=True)
    thread.start()
    try:
        # Killed once the second replica exists (created, maybe not gated nor named yet).
        wait_for("a second replica", lambda: len(_web(node, stack)) >= 2, timeout=60)
        stop_server(fleet3, signal.SIGKILL)
        thread.join(30)
    finally:
        start_server(fleet3)
    wait_for("4 healthy replicas", lambda: _healthy(node, stack, 4), timeout=120)
    # None doubled, none left over: exactly replicas 1..4, and nothing left to change.
    assert sorted(_web(node, stack)) == [f"{stack}-web-{n}" for n in range(1, 5)]
    plan = fleetdeck_json("stack", "diff", stack, "-f", str(path), "--env", node.name, env=env)
    assert all(c["action"] == "unchanged" for c in plan), plan
    assert _fails(node, stack)[1] == 0
    fleetdeck("stack", "rm", stack, "-y", env=env)
