"""``/backups``: server backups, their targets and schedule (admin only: a backup is everything).

Thin handlers over :class:`~fleetdeck.server.backups.service.BackupService`; every change
audited. Credentials and passphrases are write-only: no answer carries them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Query, Request

from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Admin  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import context_of
from fleetdeck.wire.backups import (
    BackupCreate,
    BackupRun,
    BackupSchedule,
    BackupScheduleUpdate,
    BackupTarget,
    BackupTargetCreate,
    BackupVerification,
    BackupVerify,
)

if TYPE_CHECKING:
    from fleetdeck.server.backups.service import BackupService
    from fleetdeck.server.store.models_backups import BackupRun as RunRow
    from fleetdeck.server.store.models_backups import BackupSchedule as ScheduleRow
    from fleetdeck.server.store.models_backups import BackupTarget as TargetRow

router = APIRouter(tags=["backups"])


def service_of(request: Request) -> BackupService:
    """The backup service of the app serving ``request``."""
    service: BackupService = context_of(request).backups
    return service


def target_out(row: TargetRow) -> BackupTarget:
    """A target as the API shows it (no secret)."""
    return BackupTarget(
        name=row.name,
        kind=row.kind,
        url=row.url,
        known_hosts=row.known_hosts,
        access_key_id=row.access_key_id,
        secret_kind=row.secret_kind,
        has_secret=row.secret_encrypted is not None,
        keep_daily=row.keep_daily,
        keep_weekly=row.keep_weekly,
        created_at=row.created_at,
    )


def run_out(row: RunRow) -> BackupRun:
    """A run as the API shows it."""
    return BackupRun(
        id=row.id,
        target=row.target,
        trigger=row.trigger,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        snapshot=row.snapshot_id,
        size_bytes=row.size_bytes,
        added_bytes=row.added_bytes,
        files=row.files,
        duration_s=row.duration_s,
        verified_at=row.verified_at,
        error=row.error,
    )


async def _schedule_out(service: BackupService, row: ScheduleRow) -> BackupSchedule:
    return BackupSchedule(
        enabled=row.enabled,
        interval_s=row.interval_s,
        target=row.target,
        next_due_in_s=await service.next_due_in(),
    )


@router.get("/backups")
async def list_backups(
    request: Request, who: Admin, limit: int = Query(default=100, ge=1, le=10_000)
) -> list[BackupRun]:
    """The server's backups, newest first (each with its size, duration and result)."""
    return [run_out(r) for r in await service_of(request).runs(limit)]


@router.post("/backups", status_code=201)
async def create_backup(body: BackupCreate, request: Request, who: Admin) -> BackupRun:
    """Back the server up now, verify it and apply the target's retention; the run."""
    service = service_of(request)
    async with audited(request, who.username, "backup.create", body.target or "(default)"):
        row = await service.create(body.target, body.passphrase)
    return run_out(row)


@router.post("/backups/verify")
async def verify_backup(body: BackupVerify, request: Request, who: Admin) -> BackupVerification:
    """Check a target's repository and read a backup's manifest back (decrypted)."""
    service = service_of(request)
    detail = {"snapshot": body.snapshot, "read_data": body.read_data}
    async with audited(request, who.username, "backup.verify", body.target or "(default)", detail):
        found = await service.verify(body.target, body.snapshot, body.passphrase, body.read_data)
    return BackupVerification(
        target=found.target, snapshot=found.snapshot_id, files=found.files,
        read_data=found.read_data,
    )  # fmt: skip


@router.get("/backups/schedule")
async def get_schedule(request: Request, who: Admin) -> BackupSchedule:
    """When the server backs itself up."""
    service = service_of(request)
    return await _schedule_out(service, await service.schedule())


@router.put("/backups/schedule")
async def set_schedule(body: BackupScheduleUpdate, request: Request, who: Admin) -> BackupSchedule:
    """Change the schedule."""
    service = service_of(request)
    detail = {"enabled": body.enabled, "interval_s": body.interval_s, "target": body.target}
    async with audited(request, who.username, "backup.schedule", "server", detail):
        row = await service.set_schedule(body.enabled, body.interval_s, body.target)
    service.wake()
    return await _schedule_out(service, row)


@router.get("/backups/targets")
async def list_targets(request: Request, who: Admin) -> list[BackupTarget]:
    """Every backup target (never its credentials)."""
    return [target_out(t) for t in await service_of(request).targets()]


@router.post("/backups/targets", status_code=201)
async def add_target(body: BackupTargetCreate, request: Request, who: Admin) -> BackupTarget:
    """Add a target; its SSH key, password or S3 secret is sealed before it is stored."""
    detail = {"destination": body.destination}
    async with audited(request, who.username, "backup.target.create", body.name, detail):
        row = await service_of(request).add_target(
            body.name,
            body.destination,
            known_hosts=body.known_hosts,
            ssh_key=body.ssh_key,
            ssh_password=body.ssh_password,
            access_key_id=body.access_key_id,
            secret_key=body.secret_key,
            keep_daily=body.keep_daily,
            keep_weekly=body.keep_weekly,
        )
    return target_out(row)


@router.delete("/backups/targets/{name}")
async def remove_target(name: str, request: Request, who: Admin) -> dict[str, bool]:
    """Forget a target and its credentials (the backups on it stay)."""
    async with audited(request, who.username, "backup.target.delete", name):
        await service_of(request).remove_target(name)
    return {"ok": True}
