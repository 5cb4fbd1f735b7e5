"""``/backups/volumes``: volume backups, their policies and restores (admin: they hold data).

Thin handlers over :class:`~fleetdeck.server.volbackups.service.VolumeBackupService`; every
change audited. A policy's passphrase is write-only: no answer carries it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Query, Request

from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Admin  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import context_of
from fleetdeck.wire.volume_backups import (
    VolumeBackupCreate,
    VolumeBackupPolicy,
    VolumeBackupPolicyCreate,
    VolumeBackupRun,
    VolumeRestore,
    VolumeRestoreResult,
)

if TYPE_CHECKING:
    from fleetdeck.server.store.models_volume_backups import VolumeBackupPolicy as PolicyRow
    from fleetdeck.server.store.models_volume_backups import VolumeBackupRun as RunRow
    from fleetdeck.server.volbackups.service import VolumeBackupService

router = APIRouter(tags=["backups"])


def service_of(request: Request) -> VolumeBackupService:
    """The volume backup service of the app serving ``request``."""
    service: VolumeBackupService = context_of(request).volume_backups
    return service


async def policy_out(service: VolumeBackupService, row: PolicyRow) -> VolumeBackupPolicy:
    """A policy as the API shows it (no passphrase)."""
    return VolumeBackupPolicy(
        name=row.name, source=row.source, environment=row.environment, node=row.node,
        stack=row.stack, service=row.service, volumes=list(row.volumes or []),
        target=row.target, interval_s=row.interval_s, keep_last=row.keep_last,
        consistency=row.consistency, pre_hook=row.pre_hook, post_hook=row.post_hook,
        has_passphrase=row.passphrase_encrypted is not None, enabled=row.enabled,
        next_due_in_s=await service.next_due_in(row), created_at=row.created_at,
    )  # fmt: skip


def run_out(row: RunRow) -> VolumeBackupRun:
    """A run as the API shows it."""
    return VolumeBackupRun(
        id=row.id, policy=row.policy, environment=row.environment, node=row.node,
        volume=row.volume, target=row.target, trigger=row.trigger,
        consistency=row.consistency, status=row.status, started_at=row.started_at,
        finished_at=row.finished_at, snapshot=row.snapshot_id, size_bytes=row.size_bytes,
        added_bytes=row.added_bytes, files=row.files, duration_s=row.duration_s,
        error=row.error, restart_error=row.restart_error,
    )  # fmt: skip


@router.get("/backups/volumes")
async def list_volume_backups(
    request: Request,
    who: Admin,
    limit: int = Query(default=100, ge=1, le=10_000),
    policy: str | None = Query(default=None, max_length=64),
) -> list[VolumeBackupRun]:
    """Volume backups, newest first (each with its size, duration and result)."""
    return [run_out(r) for r in await service_of(request).runs(limit, policy)]


@router.post("/backups/volumes", status_code=201)
async def create_volume_backup(
    body: VolumeBackupCreate, request: Request, who: Admin
) -> list[VolumeBackupRun]:
    """Back up every volume of a policy now (stopping, pausing or hooking as it says)."""
    service = service_of(request)
    async with audited(request, who.username, "backup.volume.create", body.policy):
        rows = await service.run_policy(body.policy)
    return [run_out(r) for r in rows]


@router.post("/backups/volumes/restore")
async def restore_volume_backup(
    body: VolumeRestore, request: Request, who: Admin
) -> VolumeRestoreResult:
    """Restore a volume backup into the same volume, a new one, or one on another node."""
    service = service_of(request)
    detail = {"environment": body.environment, "node": body.node, "volume": body.volume,
              "replace": body.replace}  # fmt: skip
    async with audited(request, who.username, "backup.volume.restore", body.backup, detail):
        done = await service.restore(
            body.backup, environment=body.environment, node=body.node, volume=body.volume,
            replace=body.replace, passphrase=body.passphrase,
        )  # fmt: skip
    return VolumeRestoreResult.model_validate(done)


@router.get("/backups/volumes/policies")
async def list_policies(request: Request, who: Admin) -> list[VolumeBackupPolicy]:
    """Every volume backup policy (from the API, Compose files and labels)."""
    service = service_of(request)
    return [await policy_out(service, p) for p in await service.policies()]


@router.post("/backups/volumes/policies", status_code=201)
async def add_policy(
    body: VolumeBackupPolicyCreate, request: Request, who: Admin
) -> VolumeBackupPolicy:
    """Add a volume backup policy; its passphrase, if any, is sealed before it is stored."""
    service = service_of(request)
    fields = body.model_dump()
    detail = {k: v for k, v in fields.items() if k != "passphrase"}
    async with audited(request, who.username, "backup.volume.policy.create", body.name, detail):
        row = await service.add_policy(**fields)
    return await policy_out(service, row)


@router.delete("/backups/volumes/policies/{name:path}")
async def remove_policy(name: str, request: Request, who: Admin) -> dict[str, bool]:
    """Forget a policy (its backups stay, and can be restored)."""
    async with audited(request, who.username, "backup.volume.policy.delete", name):
        await service_of(request).remove_policy(name)
    return {"ok": True}
