"""Server backups to a real SFTP target, and the disaster-recovery drill.

The drill runs a fleetdeck server of its own (so its data directory can be destroyed without
breaking the session lab's server) managing the lab's three nodes through agents of its own,
backs a stateful volume up to sshd and then the server itself, destroys the data directory,
restores it into a new one, starts a server on another port, and checks that the fleet comes
back whole without a new token and that the restored server restores the volume onto another
node intact. sshd listens on the lab gateway, where the volume backups' helper containers on
the nodes reach it (and the server's own restic, on the machine, too).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.lab import volume_backup_image
from fleetdeck.server.backups.restic import SERVER_TAG, SNAPSHOT_HOST, Restic
from fleetdeck.server.backups.targets import Credentials, open_repo, parse_destination
from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.backup_helpers import DrillServer, SftpServer, free_port, kill_with
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

PASSPHRASE = f"drill-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def sftp(fleet3: LabRecord, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """An SFTP server (OpenSSH) on the lab gateway, for the whole module."""
    server = SftpServer(tmp_path_factory.mktemp("sshd"), address=fleet3.gateway).start()
    yield server
    server.stop()


def _target_args(sftp: SftpServer, name: str, repo: Path, *extra: str) -> list[str]:
    return [
        "backup", "target", "add", name, sftp.url(repo),
        "--ssh-key", str(sftp.client_key), "--known-hosts", str(sftp.known_hosts), *extra,
    ]  # fmt: skip


def _restore_args(sftp: SftpServer, backup: str, data_dir: Path) -> list[str]:
    return [
        "server", "restore", backup, "--data-dir", str(data_dir),
        "--ssh-key", str(sftp.client_key), "--known-hosts", str(sftp.known_hosts),
    ]  # fmt: skip


def _sftp_restic(sftp: SftpServer, repo: Path) -> Any:
    creds = Credentials(
        known_hosts=sftp.known_hosts.read_text(), ssh_key=sftp.client_key.read_text()
    )
    return open_repo(parse_destination(sftp.url(repo)), PASSPHRASE, creds)


def test_disaster_recovery_drill_over_sftp(
    fleet3: LabRecord, sftp: SftpServer, tmp_path: Path
) -> None:
    """The whole drill: two server starts, three agents enrolled, a deploy, backups, restores.

    Over 60 s by its nature (a server started twice, agents enrolled and reconnected, a stack
    deployed twice, a volume backed up and restored); the timings it prints go into
    docs/disaster-recovery.md.
    """
    tag = uuid.uuid4().hex[:6]
    envs = [f"dr{tag}-{i}" for i in range(1, 4)]
    old = DrillServer(fleet3, tmp_path / "server", free_port())
    new = DrillServer(fleet3, tmp_path / "restored", free_port())
    timings: dict[str, float] = {}
    for lab_node in fleet3.nodes[:2]:  # the volume's node and the node it is restored onto
        volume_backup_image.build(lab_node.docker_host)
    vol_passphrase = tmp_path / "volume-passphrase"
    vol_passphrase.write_text(f"vol-{uuid.uuid4().hex}\n")
    moved = f"dr{tag}-moved"
    try:
        old.start()
        old.log_in()
        old.enrol_nodes(envs)
        env = old.cli_env()
        with old.client() as client:
            client.create_user(f"viewer{tag}", "viewer-password-1")
            client.create_channel(f"hook{tag}", "json://127.0.0.1:9/hook")
            client.create_rule(
                {"name": f"cpu{tag}", "metric": "cpu_cores", "target": "container",
                 "operator": ">", "threshold": 4, "for": "5m", "channels": [f"hook{tag}"]}
            )  # fmt: skip
        stack, secret = f"s{tag}", f"pw-{uuid.uuid4().hex}"
        compose = tmp_path / "compose.yaml"
        compose.write_text(
            f"services:\n  app:\n    image: {fleet3.images['base']}\n"
            '    command: ["sleep", "3600"]\n    secrets: [db]\n    volumes: ["data:/data"]\n'
            "secrets:\n  db:\n    environment: DB_PASSWORD\nvolumes:\n  data: {}\n"
        )
        fleetdeck("stack", "vars", "set", stack, "DB_PASSWORD", "--secret", "--value-stdin",
                  env=env, stdin=secret + "\n")  # fmt: skip
        fleetdeck("stack", "deploy", stack, "-f", str(compose), "--env", envs[0], env=env)
        fleetdeck("stack", "deploy", stack, env=env)  # a second revision in the history
        node, container = fleet3.nodes[0], f"{stack}-app-1"
        assert docker(node, "exec", container, "cat", "/run/secrets/db") == secret
        with old.client() as client:
            history_before = [r["revision"] for r in client.stack_history(stack)]
        write = "head -c 2000000 /dev/urandom > /data/payload && md5sum /data/payload"
        digest = docker(node, "exec", container, "sh", "-c", write).split()[0]

        repo = tmp_path / "offsite"
        fleetdeck(*_target_args(sftp, "offsite", repo), env=env)
        # The volume's backup first, to the same sshd: its run is in the server's store. A
        # repository of its own, as its passphrase is the policy's (restic refuses a second).
        fleetdeck(*_target_args(sftp, "offsite-volumes", tmp_path / "volumes"), env=env)
        fleetdeck(
            "backup", "volume", "policy", "add", stack, "--env", envs[0], "--stack", stack,
            "--target", "offsite-volumes", "--schedule", "manual", "--consistency", "pause",
            "--passphrase-file", str(vol_passphrase), env=env,
        )  # fmt: skip
        started = time.monotonic()
        [vol_run] = fleetdeck_json("backup", "volume", "create", stack, env=env)
        timings["volume backup"] = time.monotonic() - started
        assert vol_run["status"] == "ok" and vol_run["snapshot"], vol_run
        assert vol_run["size_bytes"] >= 2_000_000
        started = time.monotonic()
        run = fleetdeck_json(
            "backup", "create", "--target", "offsite",
            env={**env, "FLEETDECK_BACKUP_PASSPHRASE": PASSPHRASE},
        )  # fmt: skip
        timings["backup"] = time.monotonic() - started
        assert run["status"] == "ok" and run["verified_at"]
        listed = fleetdeck_json("backup", "ls", env=env)
        assert [(r["snapshot"], r["status"]) for r in listed] == [(run["snapshot"], "ok")]
        checked = fleetdeck_json(
            "backup", "verify", "--target", "offsite", "--read-data",
            env={**env, "FLEETDECK_BACKUP_PASSPHRASE": PASSPHRASE},
        )  # fmt: skip
        assert checked["snapshot"] == run["snapshot"][:8] and checked["ok"]

        # The disaster: the server dies and its data directory is gone.
        old.stop()
        shutil.rmtree(old.data_dir)

        started = time.monotonic()
        restored = fleetdeck(
            *_restore_args(sftp, f"{sftp.url(repo)}#{run['snapshot']}", new.data_dir),
            "-o", "json", env={"FLEETDECK_BACKUP_PASSPHRASE": PASSPHRASE},
        )  # fmt: skip
        timings["restore"] = time.monotonic() - started
        assert json.loads(restored.stdout)["snapshot"] == run["snapshot"][:8]
        started = time.monotonic()
        new.token = old.token  # tokens come back with the store: no new one is made
        new.start()
        new.wait_nodes_up(envs)  # every agent reconnects, without a new join token
        timings["reconnect"] = time.monotonic() - started

        env = new.cli_env()
        with new.client() as client:
            assert f"viewer{tag}" in {u.username for u in client.list_users()}
            assert f"hook{tag}" in {c.name for c in client.list_channels()}
            assert f"cpu{tag}" in {r.name for r in client.list_rules()}
            assert [r["revision"] for r in client.stack_history(stack)] == history_before
            assert stack in {s["name"] for s in client.list_stacks()}
        # The secret still reaches its container: recreated by the restored server, which
        # must open the sealed value with the restored master key.
        docker(node, "rm", "-f", container)
        fleetdeck("stack", "deploy", stack, env=env)
        wait_for("the container", lambda: docker(node, "ps", "-q", "-f", f"name={container}"))
        assert docker(node, "exec", container, "cat", "/run/secrets/db") == secret
        # The volume: the restored server knows its backup run and restores it onto another
        # node, from the SFTP target, with the target's key and known_hosts from the store.
        runs = fleetdeck_json("backup", "volume", "ls", env=env)
        assert vol_run["id"] in {r["id"] for r in runs}
        started = time.monotonic()
        done = fleetdeck_json(
            "backup", "volume", "restore", vol_run["id"], "--env", envs[1], "--volume", moved,
            "--passphrase-file", str(vol_passphrase), env=env,
        )  # fmt: skip
        timings["volume restore"] = time.monotonic() - started
        assert done["environment"] == envs[1] and done["created"] is True
        base = fleet3.images["base"]
        out = docker(
            fleet3.nodes[1], "run", "--rm", "-v", f"{moved}:/d", base, "md5sum", "/d/payload"
        )
        assert out.split()[0] == digest
        print(  # noqa: T201 - the drill's timings, for docs/disaster-recovery.md
            "drill timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        )
        fleetdeck("stack", "rm", stack, "-y", env=env)
    finally:
        new.stop()
        old.stop()
        kill_with(str(tmp_path / "agent-"))
        docker(fleet3.nodes[1], "volume", "rm", "-f", moved, check=False)
        docker(fleet3.nodes[0], "volume", "rm", "-f", f"s{tag}_data", check=False)


def test_retention_and_a_tampered_backup_on_sftp(
    fleet3: LabRecord, sftp: SftpServer, tmp_path: Path
) -> None:
    """(c) retention removes exactly what the policy says; (d) a tampered backup is refused."""
    env = {**server_env(fleet3), "FLEETDECK_BACKUP_PASSPHRASE": PASSPHRASE}
    name, repo = f"ret{uuid.uuid4().hex[:6]}", tmp_path / "repo"
    fleetdeck(*_target_args(sftp, name, repo, "--keep-daily", "2", "--keep-weekly", "1"), env=env)
    try:
        first = fleetdeck_json("backup", "create", "--target", name, env=env)
        with _sftp_restic(sftp, repo) as where:
            restic = Restic(where)
            today = date.fromisoformat(restic.snapshots()[0]["time"][:10])
            seed = tmp_path / "seed"
            seed.mkdir()
            (seed / "x").write_text("older server data")
            stamps = [f"{today - timedelta(days=d)} {h:02d}:00:00" for d, h in
                      ((1, 1), (1, 2), (3, 5), (30, 5))]  # fmt: skip
            for stamp in stamps:
                restic.run("backup", str(seed), "--tag", SERVER_TAG, "--host", SNAPSHOT_HOST,
                           "--time", stamp)  # fmt: skip
        second = fleetdeck_json("backup", "create", "--target", name, env=env)
        with _sftp_restic(sftp, repo) as where:
            left = {
                s["short_id"]: s["time"][:19].replace("T", " ") for s in Restic(where).snapshots()
            }
        # keep-daily 2: today's newest (the second backup) and yesterday's newest (02:00);
        # keep-weekly 1: this week's newest, the second backup again. Nothing else stays.
        kept = sorted(v for k, v in left.items() if k != second["snapshot"][:8])
        assert second["snapshot"][:8] in left and kept == [stamps[1]]
        statuses = {r["id"]: r["status"] for r in fleetdeck_json("backup", "ls", env=env)}
        assert statuses[first["id"]] == "forgotten" and statuses[second["id"]] == "ok"

        # (d) One flipped byte in every data pack on the target: verify and restore refuse it.
        for pack in (p for p in (repo / "data").rglob("*") if p.is_file()):
            raw = bytearray(pack.read_bytes())
            raw[len(raw) // 2] ^= 0x01
            pack.chmod(0o600)
            pack.write_bytes(bytes(raw))
        refused = fleetdeck("backup", "verify", "--target", name, "--read-data", "-o", "json",
                            env=env, check=False)  # fmt: skip
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "damaged" in refused.stderr
        target = tmp_path / "restored"
        refused = fleetdeck(*_restore_args(sftp, f"{sftp.url(repo)}#{second['snapshot']}", target),
                            env=env, check=False)  # fmt: skip
        assert refused.returncode == 2 and "damaged" in refused.stderr, refused.stderr
        assert not target.exists()
        assert not [p for p in tmp_path.iterdir() if ".restore-" in p.name]
    finally:
        with client_for(fleet3) as client:
            client.remove_backup_target(name)


def test_a_full_target_fails_with_a_clear_error_and_no_good_backup(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    """A target on a 32 KiB tmpfs: the backup fails as "full", recorded failed, alerted."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(mount)], check=True)
    env = {**server_env(fleet3), "FLEETDECK_BACKUP_PASSPHRASE": PASSPHRASE}
    try:
        (mount / "repo").mkdir()
        failed = fleetdeck("backup", "create", "--target", str(mount / "repo"), env=env,
                           check=False)  # fmt: skip
        assert failed.returncode != 0
        assert "is full" in failed.stderr, failed.stderr
        runs = fleetdeck_json("backup", "ls", env=env)
        mine = [r for r in runs if r["target"] == str(mount / "repo")]
        assert [r["status"] for r in mine] == ["failed"] and "full" in mine[0]["error"]
        with client_for(fleet3) as client:
            alerts = client.list_alerts().items
        assert any(a.rule == "backup-failed" and a.labels.get("target") == str(mount / "repo")
                   for a in alerts)  # fmt: skip
    finally:
        subprocess.run(["umount", str(mount)], check=True)
