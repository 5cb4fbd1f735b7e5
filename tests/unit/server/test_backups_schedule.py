"""The backup schedule (derived from stored runs) and runs a stopped server left behind."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.backups.restore import BackupRef, parse_backup_ref
from fleetdeck.server.backups.targets import parse_destination
from fleetdeck.server.context import context_of
from fleetdeck.server.store.models_backups import BackupRun
from tests.unit.server.conftest import ADMIN_PASSWORD, bearer

if TYPE_CHECKING:
    from pathlib import Path

    import httpx
    from fastapi import FastAPI

    from fleetdeck.server.config import ServerSettings

PASSPHRASE = "schedule passphrase"  # noqa: S105 - a test fixture's passphrase


@pytest.fixture
def settings(tmp_path: Path) -> ServerSettings:
    """A server whose own setting holds the backup passphrase (scheduled backups need it)."""
    from fleetdeck.server.config import ServerSettings

    return ServerSettings.load(
        data_dir=tmp_path / "data", listen="127.0.0.1:18443",
        admin_password=ADMIN_PASSWORD, backup_passphrase=PASSPHRASE,
    )  # fmt: skip


async def test_a_due_schedule_backs_up_once_per_interval(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    headers = bearer(admin_token)
    (tmp_path / "repo").mkdir()
    target = {"name": "nightly", "destination": str(tmp_path / "repo")}
    assert (await client.post("/api/v1/backups/targets", json=target, headers=headers)).is_success
    shown = await client.get("/api/v1/backups/schedule", headers=headers)
    assert shown.json()["enabled"] is False and shown.json()["next_due_in_s"] is None
    body = {"enabled": True, "interval_s": 3600, "target": "nightly"}
    changed = await client.put("/api/v1/backups/schedule", json=body, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["next_due_in_s"] == 0

    service = context_of(app).backups
    await service.scheduled_step()
    await service.scheduled_step()  # not due again: one backup per interval
    await service.idle()  # the schedule loop, woken by the change, may have been first
    runs = (await client.get("/api/v1/backups", headers=headers)).json()
    assert [(r["trigger"], r["status"]) for r in runs] == [("schedule", "ok")]
    left = (await client.get("/api/v1/backups/schedule", headers=headers)).json()["next_due_in_s"]
    assert 0 < left <= 3600

    bad = {"enabled": True, "target": "nope"}
    answer = await client.put("/api/v1/backups/schedule", json=bad, headers=headers)
    assert answer.status_code == 404
    too_often = {"enabled": True, "interval_s": 1}
    answer = await client.put("/api/v1/backups/schedule", json=too_often, headers=headers)
    assert answer.status_code == 422


async def test_a_run_left_running_by_a_stopped_server_is_never_counted_good(app: FastAPI) -> None:
    service = context_of(app).backups
    await service.repo.add_run(BackupRun(target="t", trigger="manual", status="running"))
    await service.start()  # what the next start does
    [run] = await service.runs()
    assert run.status == "interrupted" and run.snapshot_id is None


def test_destinations_and_backup_references_are_parsed_strictly(tmp_path: Path) -> None:
    sftp = parse_destination("sftp://backup@host.lan/srv/fd")
    assert (sftp.kind, sftp.url, sftp.port) == ("sftp", "sftp://backup@host.lan:22/srv/fd", 22)
    assert parse_destination("s3:https://s3.lan/bucket/fd").kind == "s3"
    for bad in ("sftp://host/x", "sftp://u@h:99999/x", "s3:ftp://x/b", "relative/dir", ""):
        with pytest.raises(InvalidInputError):
            parse_destination(bad)
    with pytest.raises(InvalidInputError):
        parse_destination(str(tmp_path / "data" / "sub"), tmp_path / "data")
    assert parse_backup_ref("/b/repo#abc123", None) == BackupRef("/b/repo", "abc123")
    assert parse_backup_ref("/b/repo", None) == BackupRef("/b/repo", "latest")
    assert parse_backup_ref("abc123", "/b/repo") == BackupRef("/b/repo", "abc123")
    with pytest.raises(InvalidInputError):
        parse_backup_ref("abc123", None)


async def test_the_backups_page_shows_the_newest_good_backup_to_admins_only(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    from tests.unit.server.conftest import add_user

    headers = bearer(admin_token)
    (tmp_path / "repo").mkdir()
    target = {"name": "disk", "destination": str(tmp_path / "repo")}
    assert (await client.post("/api/v1/backups/targets", json=target, headers=headers)).is_success
    empty = await client.get("/backups", headers=headers)
    assert empty.status_code == 200 and "no good backup yet" in empty.text
    made = await client.post("/api/v1/backups", json={"target": "disk"}, headers=headers)
    assert made.status_code == 201, made.text
    page = await client.get("/backups", headers=headers)
    assert "newest good backup" in page.text and made.json()["snapshot"] in page.text
    assert "KiB" in page.text or "MiB" in page.text  # its size
    viewer = await add_user(client, admin_token, "vic", "viewer")
    assert (await client.get("/backups", headers=bearer(viewer))).status_code == 403
