"""An agent of the previous release keeps working with this server (issue #14, done-when f).

v0.1.0's agent source (``tests/fixtures/releases/v0.1.0-agent.tar.gz``, made by
``scripts/release-fixtures`` with ``git archive v0.1.0``) runs on a node of the ``fleet3``
lab, on this venv's dependencies with ``PYTHONPATH`` at the old source, beside that node's
current agent and on the same engine, enrolled into an environment of its own. It enrols,
shows as outdated with protocol 1 (``env ls``/``env show``, ``agents ls``, the API), and the
core operations work through it: ps, stop/start, logs, exec; its metrics reach the history.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fleetdeck import __version__
from tests.conftest import SESSION_TAG, client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

AGENT_SOURCE = Path(__file__).resolve().parents[1] / "fixtures/releases/v0.1.0-agent.tar.gz"
#: The node's current agent listens on 9001; the old one beside it on this port.
OLD_AGENT_PORT = 9101
ENVIRONMENT = f"old{SESSION_TAG}"


@pytest.fixture(scope="module")
def old_agent(fleet3: LabRecord, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """v0.1.0's agent running on node3, enrolled as the environment ``ENVIRONMENT``."""
    work = tmp_path_factory.mktemp("v010-agent")
    with tarfile.open(AGENT_SOURCE) as tar:
        tar.extractall(work, filter="data")
    node = fleet3.nodes[2]
    assert fleet3.server is not None
    with client_for(fleet3) as client:
        token = client.create_environment(ENVIRONMENT, tags=["skew"]).join_token
    assert token is not None
    state = work / "state"
    state.mkdir()
    argv = [
        "nsenter", f"--net=/run/netns/{node.netns}", "--",
        sys.executable, "-m", "fleetdeck.agent",
        "--server", fleet3.server.url, "--join-token", token,
        "--listen", f"{node.ip}:{OLD_AGENT_PORT}", "--docker-host", node.docker_host,
        "--state-dir", str(state), "--metrics-interval", "2",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(work / "src")}
    with (work / "agent.log").open("wb") as log:
        # cwd: `python -m` puts it first on sys.path, and the old source must be what it finds.
        agent = subprocess.Popen(argv, env=env, cwd=work, stdout=log, stderr=log)  # noqa: S603
    try:
        yield ENVIRONMENT
    finally:
        agent.terminate()
        try:
            agent.wait(timeout=30)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        with client_for(fleet3) as client:
            client.delete_environment(ENVIRONMENT)


def test_the_old_agent_enrols_and_shows_as_outdated_with_protocol_1(
    fleet3: LabRecord, old_agent: str
) -> None:
    """The old agent runs the old code (it says 0.1.0) and the server says it is outdated."""
    env = server_env(fleet3)

    def enrolled_and_up() -> dict[str, object] | None:
        found = fleetdeck_json("env", "show", old_agent, env=env)
        nodes = found["nodes"]
        return found if nodes and nodes[0]["status"] == "up" else None

    shown = wait_for("the v0.1.0 agent up", enrolled_and_up, timeout=60)
    node = shown["nodes"][0]  # type: ignore[index]
    assert (node["agent_version"], node["agent_protocol"], node["agent_outdated"]) == (
        "0.1.0", 1, True,
    )  # fmt: skip
    assert node["agent_commit"] is None  # v0.1.0 does not report one
    assert (shown["agent_version"], shown["agent_protocol"], shown["agent_outdated"]) == (
        "0.1.0", 1, True,
    )  # fmt: skip
    listed = {e["name"]: e for e in fleetdeck_json("env", "ls", env=env)}
    assert listed[old_agent]["agent_outdated"] is True
    current = listed[fleet3.nodes[2].name]
    assert (current["agent_version"], current["agent_protocol"]) == (__version__, 2)
    assert current["agent_outdated"] is False
    table = fleetdeck("env", "show", old_agent, env=env).stdout
    assert "0.1.0 p1 outdated" in table
    outdated = fleetdeck_json("agents", "ls", "--outdated", env=env)
    assert [(r["environment"], r["agent_protocol"]) for r in outdated] == [(old_agent, 1)]


def test_core_operations_work_through_the_old_agent(fleet3: LabRecord, old_agent: str) -> None:
    """ps, stop/start, logs and exec reach the engine through v0.1.0's agent; metrics arrive."""
    env = server_env(fleet3)
    lab_node = fleet3.nodes[2]
    name = f"skew-{uuid.uuid4().hex[:8]}"
    script = "trap 'exit 0' TERM; echo skew-ready; while :; do sleep 1; done"
    docker(lab_node, "run", "-d", "--name", name, fleet3.images["web"], "sh", "-c", script)
    try:
        with client_for(fleet3) as client:
            wait_for(
                "the container through the old agent",
                lambda: client.list_containers(environment=old_agent, name=name).total == 1,
            )
            node = client.get_environment(old_agent).nodes[0].name
        ref = f"{old_agent}/{name}"
        ps = fleetdeck_json("ps", "-a", "-e", old_agent, env=env)
        assert [c["name"] for c in ps if c["name"] == name] == [name]
        fleetdeck("stop", "-t", "1", ref, env=env)
        assert docker(lab_node, "inspect", "--format", "{{.State.Status}}", name) == "exited"
        fleetdeck("start", ref, env=env)
        assert docker(lab_node, "inspect", "--format", "{{.State.Status}}", name) == "running"
        wait_for(
            "the restarted container's second line",
            lambda: fleetdeck("logs", ref, env=env).stdout.count("skew-ready") == 2 or None,
        )
        out = fleetdeck("exec", ref, "--", "sh", "-c", "echo from-$((40 + 2))", env=env)
        assert out.stdout == "from-42\n"
        with client_for(fleet3) as client:

            def cpu_points() -> int | None:
                start = datetime.now(UTC) - timedelta(minutes=5)
                result = client.query_metrics(f"{old_agent}/{node}", "cpu_count", start=start)
                return sum(len(s.points) for s in result.series) or None

            wait_for("host metrics from the old agent", cpu_points, timeout=60)
    finally:
        docker(lab_node, "rm", "-f", name, check=False)
