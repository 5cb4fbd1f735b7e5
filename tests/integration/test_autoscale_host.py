"""The autoscaler on a plain-host stack, on the real lab: CPU load scales up, then back down.

CPU burned in a web service's replicas scales it up, and it goes back to its minimum once
the load stopped and the scale-down window passed.

Recommend-only records the decision and changes nothing. The server is restarted with a 3 s
sync (HPA's 15 s would only make the test slower) and the policy uses a 20 s scale-down
window; the server is restarted normally at the end.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for
from tests.integration.server_helpers import restart_server
from tests.integration.test_stacks_host import LOADER, _fails, _write
from tests.integration.test_stacks_host_scale import _healthy, _web

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

COMPOSE = """
services:
  web:
    image: {web}
    {web_key}
    deploy: {{replicas: 2}}
  loader:
    image: {base}
    command: ["sh", "-c", {loader}]
    depends_on:
      web: {{condition: service_healthy}}
"""


def web_stack(record: LabRecord, web_key: str) -> str:
    """A 2-replica lab web service (with one more key) and a loader requesting it."""
    return COMPOSE.format(web=record.images["web"], base=record.images["base"],
                          loader=json.dumps(LOADER), web_key=web_key)  # fmt: skip


def test_cpu_load_scales_a_stack_service_up_and_back_down(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    """Over 60 s (about 200): two server restarts, a 90 s CPU burn, a 20 s scale-down window.

    The burn must outlast the recommend-only phase and the scale-up, each decided from the
    agents' 10 s CPU samples; the way back down waits for fresh low samples and the window.
    """
    env, node = server_env(fleet3), fleet3.nodes[1]
    stack = f"as{uuid.uuid4().hex[:6]}"
    path = _write(tmp_path, web_stack(fleet3, "cpus: 0.5"))
    restart_server(fleet3, {"FLEETDECK_AUTOSCALE_SYNC_S": "3"})
    try:
        fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
        ref = f"{stack}/web"
        flags = ["--min", "2", "--max", "4", "--cpu", "10", "--scale-down-window", "20"]
        bad = fleetdeck("autoscale", "set", ref, "--min", "5", "--max", "2", "--cpu", "40",
                        env=env, check=False)  # fmt: skip
        assert bad.returncode != 0 and "above --max" in bad.stderr, bad.stderr
        fleetdeck("autoscale", "set", ref, *flags, "--recommend-only", env=env)
        # Two busy loops in each replica, against a limit of half a core. The target is low
        # (10 %) because this machine's cores are shared: a burn may get a fifth of its limit.
        for name in _web(node, stack):
            for _ in range(2):
                docker(node, "exec", "-d", name, "wget", "-q", "-O", "/dev/null",
                       "http://127.0.0.1/cgi-bin/cpu?seconds=90")  # fmt: skip

        def recommended() -> list[dict[str, Any]]:
            rows = fleetdeck_json("autoscale", "history", ref, env=env)
            return [r for r in rows if r["desired"] > r["current"]]

        advice = wait_for("a recommendation to scale up", recommended, timeout=60)
        assert not advice[0]["applied"] and "recommend-only" in advice[0]["reason"], advice
        assert advice[0]["metrics"]["cpu"]["value"] > 10, advice
        assert len(_web(node, stack)) == 2  # nothing changed
        fleetdeck("autoscale", "set", ref, *flags, env=env)  # now it may act
        wait_for("scaled up", lambda: len(_web(node, stack)) > 2 and _healthy(
            node, stack, len(_web(node, stack))), timeout=90)  # fmt: skip
        wait_for("back to 2", lambda: _healthy(node, stack, 2), timeout=180)
        rows = fleetdeck_json("autoscale", "history", ref, env=env)
        applied = [(r["current"], r["desired"]) for r in rows if r["applied"]]
        assert any(d > c for c, d in applied) and any(d < c for c, d in applied), rows
        assert _fails(node, stack)[1] == 0  # no request failed across the scales
        listed = fleetdeck_json("autoscale", "ls", env=env)
        assert [p["target"] for p in listed] == [ref]
        fleetdeck("autoscale", "rm", ref, env=env)
        # The autoscaler's last scale may still be stopping a drained replica (409 till then).
        remove = ("stack", "rm", stack, "-y")

        def removed() -> bool:
            return fleetdeck(*remove, env=env, check=False).returncode == 0

        wait_for("the stack removed", removed, timeout=60)
    finally:
        restart_server(fleet3)
