"""Server backups: targets, runs, the schedule, verification (``/backups`` routes)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fleetdeck.wire.base import IsoDatetime, RequestBody

#: Longest SSH key, password or S3 secret a target takes.
MAX_SECRET_CHARS = 16384


class BackupTarget(BaseModel):
    """Where backups go (credentials are never returned: ``has_secret`` says one is stored)."""

    name: str
    kind: str
    url: str
    known_hosts: str | None = None
    access_key_id: str | None = None
    secret_kind: str | None = None
    has_secret: bool = False
    keep_daily: int
    keep_weekly: int
    created_at: IsoDatetime


class BackupTargetCreate(RequestBody):
    """``POST /backups/targets``: exactly one of the SFTP credentials for an SFTP target."""

    name: str = Field(min_length=1, max_length=64)
    destination: str = Field(min_length=1, max_length=1024)
    known_hosts: str | None = Field(default=None, max_length=MAX_SECRET_CHARS)
    ssh_key: str | None = Field(default=None, max_length=MAX_SECRET_CHARS)
    ssh_password: str | None = Field(default=None, min_length=1, max_length=1024)
    access_key_id: str | None = Field(default=None, max_length=256)
    secret_key: str | None = Field(default=None, max_length=1024)
    keep_daily: int = Field(default=7, ge=0, le=3650)
    keep_weekly: int = Field(default=4, ge=0, le=520)


class BackupRun(BaseModel):
    """One server backup and how it went (``ok`` means written *and* verified)."""

    id: str
    target: str
    trigger: str
    status: str
    started_at: IsoDatetime
    finished_at: IsoDatetime | None = None
    snapshot: str | None = None
    size_bytes: int | None = None
    added_bytes: int | None = None
    files: int | None = None
    duration_s: float | None = None
    verified_at: IsoDatetime | None = None
    error: str | None = None


class BackupCreate(RequestBody):
    """``POST /backups``: where to (a target's name or an absolute directory)."""

    target: str | None = Field(default=None, min_length=1, max_length=1024)
    passphrase: str | None = Field(default=None, min_length=1, max_length=1024)


class BackupVerify(RequestBody):
    """``POST /backups/verify``."""

    target: str | None = Field(default=None, min_length=1, max_length=1024)
    snapshot: str | None = Field(default=None, min_length=1, max_length=64)
    passphrase: str | None = Field(default=None, min_length=1, max_length=1024)
    read_data: bool = False


class BackupVerification(BaseModel):
    """What a verification found: the repository checks and the snapshot reads back."""

    target: str
    snapshot: str
    files: int
    read_data: bool
    ok: bool = True


class BackupSchedule(BaseModel):
    """When the server backs itself up."""

    enabled: bool
    interval_s: float
    target: str | None = None
    next_due_in_s: float | None = None


class BackupScheduleUpdate(RequestBody):
    """``PUT /backups/schedule`` (a field left out keeps its value)."""

    enabled: bool = True
    interval_s: float | None = Field(default=None, ge=60, le=366 * 86400)
    target: str | None = Field(default=None, min_length=1, max_length=64)
