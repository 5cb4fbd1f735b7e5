"""Volume backups on real engines: stop and hook consistency, a move between nodes, alerts.

The helper image (busybox + the host's restic) is imported into each of ``fleet3``'s nodes;
the target is a directory every lab node sees (they share the machine's filesystem, as nodes
mounting one share would), except in the restart test, whose backup and restore go to an
SFTP target: OpenSSH's sshd on the lab gateway, reached by the helper's own ssh (that test
took 28 s; the module, lab start included, 118 s in the run that added it).

Two tests run near or over 60 s by their nature (measured on the loaded 2-core machine): the
first (47 s) waits for three policies' first scheduled runs (a stop and a restart among them,
restic creating its repository) and restores once; the move (63 s) deploys a stack, backs it
up twice, pauses it, and restores three times (once across nodes, twice refused). The module,
lab start included, took 188 s.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.lab import volume_backup_image
from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.backup_helpers import SftpServer
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fleetdeck.lab import LabRecord
    from fleetdeck.lab.state import NodeRecord

pytestmark = pytest.mark.lab

PASSPHRASE = f"vol-{uuid.uuid4().hex}"
#: A service that stops at once on SIGTERM and refuses to start while /data/poison exists.
COMMAND = (
    'trap "exit 0" TERM; if [ -f /data/poison ]; then echo poisoned; exit 1; fi; sleep 3600 & wait'
)


@pytest.fixture(scope="module")
def vb(fleet3: LabRecord, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The helper image on every node, a directory target, a passphrase file, an alert rule."""
    for node in fleet3.nodes:
        volume_backup_image.build(node.docker_host)
    tag = uuid.uuid4().hex[:6]
    repo = tmp_path_factory.mktemp("volrepo")
    secret = tmp_path_factory.mktemp("volpass") / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    target = f"vol{tag}"
    env = server_env(fleet3)
    fleetdeck("backup", "target", "add", target, str(repo), env=env)
    rule = f"volbackup{tag}"
    with client_for(fleet3) as client:
        client.create_rule({"name": rule, "condition": "backup_failed", "severity": "critical"})
    return {"target": target, "repo": repo, "passphrase_file": secret, "env": env, "rule": rule}


@pytest.fixture(scope="module")
def sftp_target(
    fleet3: LabRecord, vb: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """An SFTP target on sshd at the lab gateway (where helper containers on nodes reach it)."""
    server = SftpServer(tmp_path_factory.mktemp("volsshd"), address=fleet3.gateway).start()
    repo = tmp_path_factory.mktemp("volsftprepo")
    name = f"volsftp{uuid.uuid4().hex[:6]}"
    try:
        fleetdeck(
            "backup", "target", "add", name, server.url(repo), "--ssh-key",
            str(server.client_key), "--known-hosts", str(server.known_hosts), env=vb["env"],
        )  # fmt: skip
        yield name, repo
    finally:
        server.stop()


def _compose(base: str, extension: str = "") -> str:
    return f"""
services:
  db:
    image: {base}
    command: ["sh", "-c", {json.dumps(COMMAND)}]
    volumes: ["data:/data"]
{extension}
volumes:
  data: {{}}
"""


def _deploy(fleet3: LabRecord, node: NodeRecord, stack: str, text: str, tmp: Path) -> str:
    path = tmp / f"{stack}.yaml"
    path.write_text(text)
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name,
              env=server_env(fleet3))  # fmt: skip
    return docker(node, "ps", "-q", "--filter", f"label=com.docker.compose.project={stack}")


def _started_at(node: NodeRecord, container: str) -> str:
    return docker(node, "inspect", "-f", "{{.State.StartedAt}}", container)


def _runs(fleet3: LabRecord, policy: str) -> list[Any]:
    with client_for(fleet3) as client:
        return client.list_volume_backups(policy=policy)


def _scheduled(fleet3: LabRecord, policy: str) -> Any:
    def done() -> Any:
        runs = [r for r in _runs(fleet3, policy) if r.trigger == "schedule"]
        return runs[0] if runs and runs[0].status != "running" else None

    return wait_for(f"a scheduled backup of {policy}", done, timeout=120)


def test_a_compose_stop_policy_stops_and_restarts_and_a_hook_policy_does_not(
    fleet3: LabRecord, vb: dict[str, Any], tmp_path: Path
) -> None:
    node = fleet3.nodes[0]
    base = fleet3.images["base"]
    stop_stack, hook_stack = (f"vb{uuid.uuid4().hex[:6]}" for _ in range(2))
    # A stop policy declared in the Compose file, run by the schedule after the deploy.
    extension = (
        f"    x-fleetdeck:\n      backup: {{target: {vb['target']}, schedule: 1h, keep: 3, "
        f"consistency: stop}}"
    )
    stopped = _deploy(fleet3, node, stop_stack, _compose(base, extension), tmp_path)
    docker(node, "exec", stopped, "sh", "-c", "echo stop-data > /data/v")
    # A hook policy from the API: a "dump" written inside the running container.
    hooked = _deploy(fleet3, node, hook_stack, _compose(base), tmp_path)
    hook_started = _started_at(node, hooked)
    stop_started = _started_at(node, stopped)
    fleetdeck(
        "backup", "volume", "policy", "add", hook_stack, "--env", node.name, "--stack", hook_stack,
        "--target", vb["target"], "--schedule", "1h", "--consistency", "hook",
        "--pre", "echo dumped > /data/dump.txt", "--post", "rm -f /data/dump.txt",
        "--passphrase-file", str(vb["passphrase_file"]), env=vb["env"],
    )  # fmt: skip
    policies = {
        p["name"]: p for p in fleetdeck_json("backup", "volume", "policy", "ls", env=vb["env"])
    }
    assert policies[f"{stop_stack}/db"]["source"] == "compose"
    assert policies[f"{stop_stack}/db"]["consistency"] == "stop"
    run = _scheduled(fleet3, hook_stack)
    assert run.status == "ok", run.error
    assert run.consistency == "hook" and run.volume.startswith(hook_stack)
    assert _started_at(node, hooked) == hook_started  # never stopped
    assert docker(node, "inspect", "-f", "{{.State.Running}}", hooked) == "true"
    assert docker(node, "exec", hooked, "ls", "/data") == ""  # the post hook cleaned up
    # The dump is in the backup: restored into a new volume, it is there.
    fresh = f"{hook_stack}-check"
    fleetdeck("backup", "volume", "restore", run.id, "--volume", fresh,
              "--passphrase-file", str(vb["passphrase_file"]), env=vb["env"])  # fmt: skip
    out = docker(node, "run", "--rm", "-v", f"{fresh}:/d", base, "cat", "/d/dump.txt")
    assert out == "dumped"
    # A Compose policy takes the server's passphrase (FLEETDECK_BACKUP_PASSPHRASE): the lab
    # server has none, so it is refused with a clear error, before anything is stopped; the
    # same policy made with the API carries its own.
    stop_run = _scheduled(fleet3, f"{stop_stack}/db")
    assert stop_run.status == "failed" and "passphrase" in (stop_run.error or "")
    assert _started_at(node, stopped) == stop_started  # refused before anything was stopped
    fleetdeck("backup", "volume", "policy", "rm", f"{stop_stack}/db", env=vb["env"])
    fleetdeck(
        "backup", "volume", "policy", "add", f"{stop_stack}-api", "--env", node.name,
        "--stack", stop_stack, "--target", vb["target"], "--schedule", "1h",
        "--consistency", "stop", "--passphrase-file", str(vb["passphrase_file"]), env=vb["env"],
    )  # fmt: skip
    stop_run = _scheduled(fleet3, f"{stop_stack}-api")
    assert stop_run.status == "ok", stop_run.error
    assert stop_run.restart_error is None
    assert _started_at(node, stopped) != stop_started  # stopped, then started again
    assert docker(node, "inspect", "-f", "{{.State.Running}}", stopped) == "true"
    assert stop_run.size_bytes and stop_run.files == 1
    for stack in (stop_stack, hook_stack):
        fleetdeck("stack", "rm", stack, "-y", env=vb["env"])
    docker(node, "volume", "rm", fresh)


def test_a_volume_moves_to_another_node_intact(
    fleet3: LabRecord, vb: dict[str, Any], tmp_path: Path
) -> None:
    src, dst = fleet3.nodes[0], fleet3.nodes[1]
    stack = f"vm{uuid.uuid4().hex[:6]}"
    container = _deploy(fleet3, src, stack, _compose(fleet3.images["base"]), tmp_path)
    script = "head -c 3000000 /dev/urandom > /data/payload && mkdir -p /data/a/b && " \
        "echo deep > /data/a/b/c && md5sum /data/payload | cut -d' ' -f1"  # fmt: skip
    digest = docker(src, "exec", container, "sh", "-c", script)
    fleetdeck(
        "backup", "volume", "policy", "add", stack, "--env", src.name, "--stack", stack,
        "--target", vb["target"], "--schedule", "manual", "--consistency", "pause",
        "--keep", "1", "--passphrase-file", str(vb["passphrase_file"]), env=vb["env"],
    )  # fmt: skip
    runs = fleetdeck_json("backup", "volume", "create", stack, env=vb["env"])
    assert [r["status"] for r in runs] == ["ok"], runs
    first = runs[0]
    assert first["size_bytes"] >= 3_000_000
    # The second backup of an unchanged volume adds (almost) nothing: deduplicated.
    second = fleetdeck_json("backup", "volume", "create", stack, env=vb["env"])[0]
    assert second["status"] == "ok" and second["added_bytes"] < 100_000
    assert docker(src, "inspect", "-f", "{{.State.Status}}", container) == "running"
    # Retention (--keep 1) removed exactly the first snapshot of this policy's volume.
    statuses = {r.id: r.status for r in _runs(fleet3, stack)}
    assert statuses == {first["id"]: "forgotten", second["id"]: "ok"}
    tag = f"fleetdeck-volume,policy={stack},volume={first['volume']}"
    listed = subprocess.run(  # noqa: S603 - fixed argv
        ["restic", "-r", str(vb["repo"]), "--no-cache", "snapshots", "--json", "--tag", tag],  # noqa: S607
        env={"RESTIC_PASSWORD": PASSPHRASE, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert [s["short_id"] for s in json.loads(listed.stdout)] == [second["snapshot"]]
    gone = fleetdeck("backup", "volume", "restore", first["id"], "--volume", f"{stack}-old",
                     env=vb["env"], check=False)  # fmt: skip
    assert gone.returncode != 0 and "removed by retention" in gone.stderr
    moved = f"{stack}-moved"
    done = fleetdeck_json(
        "backup", "volume", "restore", second["id"], "--env", dst.name, "--volume", moved,
        "--passphrase-file", str(vb["passphrase_file"]), env=vb["env"],
    )  # fmt: skip
    assert done["environment"] == dst.name and done["created"] is True
    check = "md5sum /d/payload | cut -d' ' -f1; cat /d/a/b/c"
    out = docker(dst, "run", "--rm", "-v", f"{moved}:/d", fleet3.images["base"], "sh", "-c", check)
    assert out.split() == [digest, "deep"]
    # Restoring over data is refused unless asked; a wrong passphrase is a clear error.
    again = fleetdeck(
        "backup", "volume", "restore", second["id"], "--env", dst.name, "--volume", moved,
        "--passphrase-file", str(vb["passphrase_file"]), env=vb["env"], check=False,
    )  # fmt: skip
    assert again.returncode != 0 and "not empty" in again.stderr
    wrong = tmp_path / "wrong"
    wrong.write_text("not-it\n")
    bad = fleetdeck(
        "backup", "volume", "restore", second["id"], "--env", dst.name, "--volume", f"{moved}2",
        "--passphrase-file", str(wrong), env=vb["env"], check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "passphrase" in bad.stderr and "Traceback" not in bad.stderr
    fleetdeck("stack", "rm", stack, "-y", env=vb["env"])
    docker(dst, "volume", "rm", moved)


def test_a_service_that_fails_to_restart_alerts_and_the_copy_is_kept(
    fleet3: LabRecord, vb: dict[str, Any], sftp_target: tuple[str, Path], tmp_path: Path
) -> None:
    """Also the SFTP case: this backup and its restore go through the lab's sshd."""
    target, sftp_repo = sftp_target
    node = fleet3.nodes[2]
    stack = f"vf{uuid.uuid4().hex[:6]}"
    container = _deploy(fleet3, node, stack, _compose(fleet3.images["base"]), tmp_path)
    docker(node, "exec", container, "sh", "-c", "echo precious > /data/v; touch /data/poison")
    fleetdeck(
        "backup", "volume", "policy", "add", stack, "--env", node.name, "--stack", stack,
        "--service", "db", "--target", target, "--schedule", "manual",
        "--consistency", "stop", "--passphrase-file", str(vb["passphrase_file"]), env=vb["env"],
    )  # fmt: skip
    [run] = fleetdeck_json("backup", "volume", "create", stack, env=vb["env"])
    assert run["status"] == "ok" and run["snapshot"], run
    assert run["target"] == target and (sftp_repo / "config").is_file()  # restic's repo, on sshd
    assert "exit code 1" in run["restart_error"]
    assert docker(node, "inspect", "-f", "{{.State.Status}}", container) == "exited"

    def alert() -> Any:
        with client_for(fleet3) as client:
            page = client.list_alerts(state="firing", rule=vb["rule"])
        hits = [a for a in page.items if a.labels.get("problem") == "restart"
                and a.labels.get("policy") == stack]  # fmt: skip
        return hits[0] if hits else None

    found = wait_for("the restart alert", alert, timeout=10)
    assert "did not come back" in found.summary
    # The copy is kept: restored (from the SFTP target), it holds the data.
    fresh = f"{stack}-kept"
    fleetdeck("backup", "volume", "restore", run["id"], "--volume", fresh,
              "--passphrase-file", str(vb["passphrase_file"]), env=vb["env"])  # fmt: skip
    out = docker(node, "run", "--rm", "-v", f"{fresh}:/d", fleet3.images["base"], "cat", "/d/v")
    assert out == "precious"
    fleetdeck("stack", "rm", stack, "-y", env=vb["env"])
    docker(node, "volume", "rm", fresh)
