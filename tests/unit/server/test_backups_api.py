"""Server backups over the API with the real restic, to a directory target.

Backups are written, verified, listed, refused with the wrong passphrase, refused when the
repository was tampered with, and restored into a new data directory (never an existing one).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.errors import BackupDamagedError, BackupPassphraseError, ConflictError
from fleetdeck.server.backups.restore import parse_backup_ref, restore
from tests.unit.server.conftest import add_user, bearer

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

PASSPHRASE = "correct horse battery staple"  # noqa: S105 - a test fixture's passphrase
WRONG = "not the passphrase"  # noqa: S105


async def _add_dir_target(
    client: httpx.AsyncClient, token: str, repo: Path, **extra: object
) -> None:
    repo.mkdir(exist_ok=True)
    body = {"name": "local", "destination": str(repo), **extra}
    answer = await client.post("/api/v1/backups/targets", json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.text


async def _backup(client: httpx.AsyncClient, token: str, **body: object) -> httpx.Response:
    return await client.post(
        "/api/v1/backups", json={"passphrase": PASSPHRASE, **body}, headers=bearer(token)
    )


def _snapshots(repo: Path) -> list[dict[str, Any]]:
    done = subprocess.run(  # noqa: S603 - fixed argv
        ["/usr/bin/restic", "-r", str(repo), "--no-cache", "snapshots", "--json"],
        env={"RESTIC_PASSWORD": PASSPHRASE, "PATH": "/usr/bin:/bin"},
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    snapshots: list[dict[str, Any]] = json.loads(done.stdout)
    return snapshots


def _users(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return sorted(r[0] for r in conn.execute("SELECT username FROM users"))
    finally:
        conn.close()


async def test_a_backup_is_written_verified_listed_and_restores_into_a_new_dir(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    await _add_dir_target(client, admin_token, repo)
    made = await _backup(client, admin_token)
    assert made.status_code == 201, made.text
    run = made.json()
    assert run["status"] == "ok"
    assert run["snapshot"] and run["size_bytes"] > 0 and run["files"] >= 4
    assert run["verified_at"] is not None and run["duration_s"] >= 0

    listed = (await client.get("/api/v1/backups", headers=bearer(admin_token))).json()
    assert [r["id"] for r in listed] == [run["id"]]

    verify = await client.post(
        "/api/v1/backups/verify",
        json={"passphrase": PASSPHRASE, "read_data": True},
        headers=bearer(admin_token),
    )
    assert verify.status_code == 200, verify.text
    assert verify.json()["snapshot"] == run["snapshot"][:8]
    assert verify.json()["files"] == run["files"]

    target = tmp_path / "restored"
    facts = restore(parse_backup_ref(f"{repo}#{run['snapshot']}", None), target, PASSPHRASE)
    assert facts["snapshot"] == run["snapshot"][:8]
    assert _users(target / "fleetdeck.db") == ["admin"]
    for name in ("ca/ca.pem", "ca/ca.key", "tls/server.pem", "master.key"):
        assert (target / name).is_file(), name
    assert (target / "master.key").read_bytes() == (tmp_path / "data" / "master.key").read_bytes()
    assert not [p for p in tmp_path.iterdir() if ".restore-" in p.name]

    with pytest.raises(ConflictError):  # never over an existing server
        restore(parse_backup_ref(str(repo), None), target, PASSPHRASE)


async def test_the_wrong_passphrase_is_refused_and_nothing_is_restored(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    await _add_dir_target(client, admin_token, repo)
    assert (await _backup(client, admin_token)).status_code == 201
    wrong = await _backup(client, admin_token, passphrase=WRONG)
    assert wrong.status_code == 422
    assert wrong.json()["error"] == "backup_passphrase_wrong"
    runs = (await client.get("/api/v1/backups", headers=bearer(admin_token))).json()
    assert [r["status"] for r in runs] == ["failed", "ok"]
    assert "passphrase" in runs[0]["error"]

    target = tmp_path / "restored"
    with pytest.raises(BackupPassphraseError):
        restore(parse_backup_ref(str(repo), None), target, WRONG)
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if ".restore-" in p.name]


async def test_a_tampered_backup_is_refused_by_verify_and_restore(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    await _add_dir_target(client, admin_token, repo)
    assert (await _backup(client, admin_token)).status_code == 201
    packs = sorted((repo / "data").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else 0)
    pack = packs[-1]
    pack.chmod(0o600)
    raw = bytearray(pack.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped bit in the middle of the biggest pack
    pack.write_bytes(bytes(raw))

    verify = await client.post(
        "/api/v1/backups/verify",
        json={"passphrase": PASSPHRASE, "read_data": True},
        headers=bearer(admin_token),
    )
    assert verify.status_code == 422, verify.text
    assert verify.json()["error"] == "backup_damaged"

    target = tmp_path / "restored"
    with pytest.raises(BackupDamagedError):
        restore(parse_backup_ref(str(repo), None), target, PASSPHRASE)
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if ".restore-" in p.name]


async def test_a_truncated_backup_is_refused(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    await _add_dir_target(client, admin_token, repo)
    assert (await _backup(client, admin_token)).status_code == 201
    # The index and snapshot files cut in half (truncated data packs make restic retry
    # for minutes before it gives up: the lab test cuts a pack on its SFTP target).
    for name in ("index", "snapshots"):
        for part in (p for p in (repo / name).iterdir() if p.is_file()):
            part.chmod(0o600)
            part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    with pytest.raises(BackupDamagedError):
        restore(parse_backup_ref(str(repo), None), tmp_path / "restored", PASSPHRASE)
    assert not (tmp_path / "restored").exists()
    verify = await client.post(
        "/api/v1/backups/verify", json={"passphrase": PASSPHRASE}, headers=bearer(admin_token)
    )
    assert verify.status_code == 422, verify.text
    assert verify.json()["error"] == "backup_damaged"


async def test_targets_keep_credentials_write_only_and_refuse_bad_destinations(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    headers = bearer(admin_token)
    sftp = {
        "name": "offsite",
        "destination": "sftp://backup@192.0.2.10:2222/srv/fleetdeck",
        "known_hosts": "[192.0.2.10]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample",
        "ssh_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-body\n",
    }
    made = await client.post("/api/v1/backups/targets", json=sftp, headers=headers)
    assert made.status_code == 201, made.text
    listed = await client.get("/api/v1/backups/targets", headers=headers)
    assert "secret-key-body" not in listed.text
    assert listed.json()[0]["has_secret"] is True
    assert listed.json()[0]["url"] == "sftp://backup@192.0.2.10:2222/srv/fleetdeck"

    no_host_key = {**sftp, "name": "other", "known_hosts": None}
    answer = await client.post("/api/v1/backups/targets", json=no_host_key, headers=headers)
    assert answer.status_code == 422 and "host key" in answer.json()["message"]
    inside = {"name": "inside", "destination": str(tmp_path / "data" / "backups")}
    answer = await client.post("/api/v1/backups/targets", json=inside, headers=headers)
    assert answer.status_code == 422 and "data directory" in answer.json()["message"]
    relative = {"name": "rel", "destination": "backups"}
    answer = await client.post("/api/v1/backups/targets", json=relative, headers=headers)
    assert answer.status_code == 422
    missing = {"name": "gone", "destination": str(tmp_path / "not-there")}
    answer = await client.post("/api/v1/backups/targets", json=missing, headers=headers)
    assert answer.status_code == 422 and "does not exist" in answer.json()["message"]
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("not a repository")
    busy = {"name": "busy", "destination": str(tmp_path / "busy")}
    answer = await client.post("/api/v1/backups/targets", json=busy, headers=headers)
    assert answer.status_code == 422 and "no backup repository" in answer.json()["message"]
    extra = {"name": "x", "destination": str(tmp_path / "r"), "surprise": 1}
    answer = await client.post("/api/v1/backups/targets", json=extra, headers=headers)
    assert answer.status_code == 422

    removed = await client.delete("/api/v1/backups/targets/offsite", headers=headers)
    assert removed.status_code == 200
    assert (await client.get("/api/v1/backups/targets", headers=headers)).json() == []


async def test_an_unreachable_target_fails_with_a_clear_error(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    headers = bearer(admin_token)
    sftp = {
        "name": "gone",
        "destination": "sftp://backup@127.0.0.1:1/srv/fleetdeck",
        "known_hosts": "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample",
        "ssh_password": "pw",
    }
    assert (await client.post("/api/v1/backups/targets", json=sftp, headers=headers)).is_success
    answer = await _backup(client, admin_token, target="gone")
    assert answer.status_code == 502, answer.text
    assert "unreachable" in answer.json()["message"]
    runs = (await client.get("/api/v1/backups", headers=headers)).json()
    assert runs[0]["status"] == "failed"
    alerts = (await client.get("/api/v1/alerts", headers=headers)).json()["items"]
    fired = [a for a in alerts if a["rule"] == "backup-failed"]
    assert [a["labels"] for a in fired] == [{"target": "gone"}]
    assert "unreachable" in fired[0]["summary"]


async def test_without_a_passphrase_a_backup_is_refused_before_anything_is_written(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    await _add_dir_target(client, admin_token, tmp_path / "repo")
    answer = await client.post("/api/v1/backups", json={}, headers=bearer(admin_token))
    assert answer.status_code == 422
    assert "FLEETDECK_BACKUP_PASSPHRASE" in json.dumps(answer.json())
    assert not any((tmp_path / "repo").iterdir())


async def test_retention_removes_exactly_what_the_policy_says(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    await _add_dir_target(client, admin_token, repo, keep_daily=2, keep_weekly=1)
    first = (await _backup(client, admin_token)).json()
    # Older snapshots of the same server, dated by restic itself: two yesterday, one three
    # days ago, one a month ago (restic's --time).
    env = {"RESTIC_PASSWORD": PASSPHRASE, "PATH": "/usr/bin:/bin"}
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "x").write_text("x")
    # "Today" as restic sees it (its clock, not a faked one of this process; local time).
    today = date.fromisoformat(_snapshots(repo)[0]["time"][:10])
    stamps = [
        f"{today - timedelta(days=1)} 01:00:00",
        f"{today - timedelta(days=1)} 02:00:00",
        f"{today - timedelta(days=3)} 05:00:00",
        f"{today - timedelta(days=30)} 05:00:00",
    ]
    for stamp in stamps:
        subprocess.run(  # noqa: S603 - fixed argv
            ["/usr/bin/restic", "-r", str(repo), "--no-cache", "backup", str(seed),
             "--tag", "fleetdeck-server", "--host", "fleetdeck", "--time", stamp],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
    second = (await _backup(client, admin_token)).json()
    assert second["status"] == "ok"
    left = _snapshots(repo)
    # keep-daily 2: the newest of today (the second backup) and of yesterday (02:00);
    # keep-weekly 1: the newest of this week, the second backup again. Nothing else.
    kept = sorted(
        s["time"][:19].replace("T", " ") for s in left if s["short_id"] != second["snapshot"][:8]
    )
    assert kept == [stamps[1]]
    assert second["snapshot"][:8] in {s["short_id"] for s in left}
    runs = {
        r["id"]: r["status"]
        for r in (await client.get("/api/v1/backups", headers=bearer(admin_token))).json()
    }
    assert runs == {first["id"]: "forgotten", second["id"]: "ok"}


async def test_the_dashboard_tells_an_admin_how_old_the_newest_good_backup_is(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    viewer = await add_user(client, admin_token, "vic", "viewer")
    tile = "data-backup-age"
    before = await client.get("/ui/fragments/dashboard", headers=bearer(admin_token))
    assert before.status_code == 200 and tile in before.text
    assert "good backup yet" in before.text  # none yet, and no schedule: a warning
    await _add_dir_target(client, admin_token, tmp_path / "repo")
    assert (await _backup(client, admin_token)).status_code == 201
    after = (await client.get("/ui/fragments/dashboard", headers=bearer(admin_token))).text
    assert 'class="tile ok" href="/backups" data-backup-age' in after
    assert "since the last good backup" in after
    seen = (await client.get("/ui/fragments/dashboard", headers=bearer(viewer))).text
    assert tile not in seen  # backups are an admin's
