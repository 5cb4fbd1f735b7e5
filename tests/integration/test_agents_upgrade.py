"""Issue #14 done-when (e): ``agents upgrade`` moves nodes to the next build, or undoes them.

``fleetdeck agents upgrade`` moves nodes from one build to the next, and undoes a node whose
new agent fails to start.

One lab for the module: 3 nodes whose agents are containers of this checkout's image
(``Lab.up(agent_mode="container")``, as test_images.py), and a systemd "host" on node1
(:class:`~fleetdeck.lab.systemd_host.SystemdHost`, as test_agent_install.py) whose agent the
install line put there (port 9002: node1's container agent has 9001). So the rollout meets
both kinds of install: 3 container agents (new image + recreate by a helper container) and
one service (new wheelhouse + restart by the install script).

The "next build" is this code with a bumped version (:mod:`tests.integration.upgrade_helpers`);
the broken build's agent stops as soon as it starts.

Time, measured with a warm image cache: 153 s for the file on a quieter machine (the module
fixture 74 s: the images lab, the builds, the script install; the rollout of the 4 nodes
25 s; the two broken builds 42 s, each waiting its 15 s timeout, the service's broken
release a real venv with 33 wheels), 247 s under a load average of 15 on 2 cores. A cold
image cache adds the build (several minutes under load). Over 60 s because the real
install, image load and restart are what is under test.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck import __version__
from fleetdeck.agent.swap import HELPER_SUFFIX
from fleetdeck.lab import Lab, LabRecord
from fleetdeck.lab.fleet_server import AGENT_CONTAINER
from fleetdeck.lab.systemd_host import SystemdHost
from tests.conftest import client_for, fleetdeck, fleetdeck_json, lab_name, server_env
from tests.integration.docker_cli import docker
from tests.integration.install_helpers import fleetdeck_cli, wheelhouse
from tests.integration.upgrade_helpers import next_image, next_version, next_wheelhouse

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fleetdeck.lab import NodeRecord

#: The module fixture alone can pass pytest's 600 s on a loaded machine with a cold image cache.
pytestmark = [pytest.mark.lab, pytest.mark.timeout(1800)]
HOST_ENV = "svc"
HOST_PORT = "9002"
TIMEOUT = "15"
NEXT = next_version(1)
BROKEN = next_version(2)
HELPER = AGENT_CONTAINER + HELPER_SUFFIX


class UpgradeLab:
    """The lab, its systemd host, and the builds to serve."""

    def __init__(self, record: LabRecord, host: SystemdHost, builds: dict[str, tuple[Path, Path]]):
        self.record = record
        self.host = host
        self.builds = builds
        self.env = server_env(record)

    def serve(self, version: str) -> None:
        """Serve ``version``'s wheelhouse and image at /install/."""
        assert self.record.server is not None
        house, image = self.builds[version]
        proc = fleetdeck_cli(
            "server", "agent-dist", "--data-dir", self.record.server.data_dir,
            "--from", str(house), "--image", str(image),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr

    def versions(self) -> dict[str, tuple[str, str | None]]:
        """``{env: (status, agent_version)}`` of every one-node environment."""
        envs = fleetdeck_json("env", "ls", env=self.env)
        return {e["name"]: (e["nodes"][0]["status"], e["nodes"][0]["agent_version"]) for e in envs}


def _wait_up(lab: UpgradeLab, name: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.versions().get(name, ("", None))[0] == "up":
            return
        time.sleep(0.5)
    raise AssertionError(f"{name} did not come up: {lab.versions().get(name)}")


@pytest.fixture(scope="module")
def upgrade_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpgradeLab]:
    """3 container agents, one service agent, and the next and broken builds made."""
    lab = Lab(lab_name("upgrade"))
    record, _ = lab.up(nodes=3, server=True, agent_mode="container")
    host: SystemdHost | None = None
    try:
        tmp = tmp_path_factory.mktemp("builds")
        house = wheelhouse(tmp / "house")
        node = record.nodes[0]
        builds = {}
        for version, broken in ((__version__, False), (NEXT, False), (BROKEN, True)):
            out = tmp / version
            built = next_wheelhouse(house, out / "wheels", version, broken=broken)
            base = record.images["fleetdeck_agent"]
            _, image = next_image(node, base, version, out / "agent.tar", broken=broken)
            builds[version] = (built, image)
        upgrade = UpgradeLab(record, SystemdHost(node, "fd-upgrade-host").start(), builds)
        host = upgrade.host
        upgrade.serve(__version__)
        created = fleetdeck_json("env", "add", HOST_ENV, env=upgrade.env)
        proc = host.bash(f"{created['install_command']} --port {HOST_PORT}")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        _wait_up(upgrade, HOST_ENV)
        yield upgrade
    finally:
        if host is not None:
            host.remove()
        lab.down()


def _agents(node: NodeRecord) -> list[str]:
    """The agent containers on ``node`` (the exited helper, kept for its log, left out)."""
    names = docker(node, "ps", "-a", "--format", "{{.Names}}").split()
    return sorted(n for n in names if n.startswith(AGENT_CONTAINER) and n != HELPER)


def _upgrade(lab: UpgradeLab, *args: str) -> tuple[int, list[dict[str, Any]]]:
    proc = fleetdeck("agents", "upgrade", *args, "--timeout", TIMEOUT, "-o", "json",
                     env=lab.env, check=False)  # fmt: skip
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _steps(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for event in events:
        step = event.get("step")
        if isinstance(step, dict):
            out.setdefault(str(step["environment"]), []).append(str(step["state"]))
    return out


def test_bad_input_is_refused_before_anything_moves(upgrade_lab: UpgradeLab) -> None:
    before = upgrade_lab.versions()
    proc = fleetdeck("agents", "upgrade", "nowhere", env=upgrade_lab.env, check=False)
    assert proc.returncode != 0 and "no environment 'nowhere'" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    proc = fleetdeck("agents", "upgrade", "--timeout", "5", env=upgrade_lab.env, check=False)
    assert proc.returncode != 0 and "--timeout" in proc.stderr
    assert upgrade_lab.versions() == before


def test_dry_run_lists_what_would_move(upgrade_lab: UpgradeLab) -> None:
    upgrade_lab.serve(NEXT)
    code, events = _upgrade(upgrade_lab, "--dry-run")
    assert code == 0
    plan = events[0]
    assert plan["event"] == "plan" and plan["target"] == NEXT
    nodes = plan["nodes"]
    assert isinstance(nodes, list)
    moving = {n["environment"] for n in nodes if n["state"] == "move"}
    assert moving == {n.name for n in upgrade_lab.record.nodes} | {HOST_ENV}
    assert [e["event"] for e in events] == ["plan", "done"]
    assert {v for _, v in upgrade_lab.versions().values()} == {__version__}  # nothing moved


def test_every_agent_moves_to_the_next_build_one_at_a_time(upgrade_lab: UpgradeLab) -> None:
    """3 container agents (new image, recreated) and a service agent (new release)."""
    upgrade_lab.serve(NEXT)
    code, events = _upgrade(upgrade_lab)
    steps = _steps(events)
    assert code == 0, events
    every = [n.name for n in upgrade_lab.record.nodes] + [HOST_ENV]
    assert {env: steps.get(env) for env in every} == {env: ["upgrading", "moved"] for env in every}
    # One at a time: each node's "upgrading" comes after the previous node's "moved".
    order = [(e["step"]["environment"], e["step"]["state"]) for e in events if "step" in e]
    assert order == [(env, s) for env in sorted(every) for s in ("upgrading", "moved")]
    modes = {e["step"]["environment"]: e["step"].get("mode") for e in events if "step" in e}
    assert modes[HOST_ENV] == "service"
    assert {modes[n.name] for n in upgrade_lab.record.nodes} == {"container"}
    assert upgrade_lab.versions() == {env: ("up", NEXT) for env in every}
    for node in upgrade_lab.record.nodes:  # the old container is gone, the new one runs NEXT
        assert _agents(node) == [AGENT_CONTAINER], _agents(node)
        image = docker(node, "inspect", "--format", "{{.Config.Image}}", AGENT_CONTAINER)
        assert image == f"fleetdeck/agent:{NEXT}"
    current = upgrade_lab.host.exec("readlink", "/opt/fleetdeck-agent/current").stdout
    assert current.startswith(f"releases/{NEXT}-")
    with client_for(upgrade_lab.record) as client:
        audit = client.audit(action="agents.upgrade.node").items
        assert {e.target.split("/")[0] for e in audit if e.result == "ok"} >= set(every)
        assert client.audit(action="agents.upgrade").items[0].result == "ok"
    # Running it again moves nothing: every agent is current.
    code, events = _upgrade(upgrade_lab)
    assert code == 0 and _steps(events) == {}
    assert {n["state"] for n in events[0]["nodes"]} == {"current"}


def test_a_broken_build_is_undone_and_the_old_agent_keeps_working(
    upgrade_lab: UpgradeLab,
) -> None:
    """A container agent and a service agent whose new agent stops at start are put back."""
    upgrade_lab.serve(BROKEN)
    node = upgrade_lab.record.nodes[1]
    for env in (node.name, HOST_ENV):
        code, events = _upgrade(upgrade_lab, env)
        assert code == 1, events
        assert _steps(events) == {env: ["upgrading", "undone"]}, events
        assert upgrade_lab.versions()[env] == ("up", NEXT)
    assert _agents(node) == [AGENT_CONTAINER]
    image = docker(node, "inspect", "--format", "{{.Config.Image}}", AGENT_CONTAINER)
    assert image == f"fleetdeck/agent:{NEXT}"
    current = upgrade_lab.host.exec("readlink", "/opt/fleetdeck-agent/current").stdout
    assert current.startswith(f"releases/{NEXT}-")
    # The old agents still work: a command through each.
    rows = fleetdeck_json("ps", "--env", HOST_ENV, env=upgrade_lab.env)
    assert "fd-upgrade-host" in {r["name"] for r in rows}
    with client_for(upgrade_lab.record) as client:
        undone = [e for e in client.audit(action="agents.upgrade.node").items
                  if e.result.startswith("error: the new agent did not come back")]  # fmt: skip
        assert {e.target.split("/")[0] for e in undone} == {node.name, HOST_ENV}
