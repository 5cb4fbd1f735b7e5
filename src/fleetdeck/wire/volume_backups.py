"""Volume backups: the agent's restic job and the ``/backups/volumes`` routes' bodies and answers.

The agent's half (:class:`ResticJobBody`, :class:`ResticJobResult`) is what the server asks a
node's agent to run next to a volume: restic in a short-lived helper container that mounts the
volume (read-only for a backup) and, for a directory target, the target directory. Secrets in
``secrets`` never reach the helper's configuration (``docker inspect``): the agent copies them
into the created container as a 0600 file before it starts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from fleetdeck.wire.base import IsoDatetime, RequestBody

#: Docker's rule for volume names.
VOLUME_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$"
#: An image reference (no spaces, no shell).
IMAGE_REF = r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$"
#: A restic tag fleetdeck writes (``volume=NAME``, ``fleetdeck-volume``).
TAG = r"^[A-Za-z0-9][A-Za-z0-9_.=/:,-]{0,254}$"
#: Longest hook command.
MAX_HOOK_CHARS = 4096
#: The label on every helper container (policies never count it as a service's container).
HELPER_LABEL = "fleetdeck.helper"
#: The consistency choices.
Consistency = Literal["none", "stop", "pause", "hook"]


class SftpEndpoint(BaseModel):
    """An SFTP target's server, which the helper's ``ssh`` connects to (its secrets aside)."""

    user: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
    host: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}$")
    port: int = Field(default=22, ge=1, le=65535)


class ResticJobBody(BaseModel):
    """``POST /v1/volumes/{name}/restic``: one restic job next to the volume ``name``.

    Attributes:
        op: ``backup`` (the volume at ``/data``, read-only), ``restore`` (a snapshot into the
            volume), ``forget`` (retention: ``keep_last`` per volume tag, then prune).
        image: The helper image with ``restic`` and ``/bin/sh`` (must be on the node).
        repository: restic's repository location inside the helper (``/repo`` for a directory).
        directory: A directory target's absolute path on the node, mounted at ``/repo``.
        sftp: An SFTP target's server (``repository`` is then ``sftp:USER@HOST:PATH``).
        secrets: ``RESTIC_PASSWORD``, an S3 target's keys, an SFTP target's
            ``SSH_KNOWN_HOSTS`` and ``SSH_KEY`` or ``SSH_PASSWORD`` (never in the container
            config; the known_hosts and key become 0600 files in the helper).
        tags: Tags of the snapshot (backup) or of the snapshots retention groups (forget).
        host: The host name recorded in the snapshot.
        snapshot: The snapshot to restore.
        create: Restore: create the volume when it does not exist.
        replace: Restore: empty the volume first (else it must be empty).
        keep_last: Forget: how many snapshots of the tags to keep.
        timeout_s: Longest the job may run.
    """

    op: Literal["backup", "restore", "forget"]
    image: str = Field(pattern=IMAGE_REF)
    repository: str = Field(min_length=1, max_length=1024)
    directory: str | None = Field(default=None, max_length=1024)
    sftp: SftpEndpoint | None = None
    secrets: dict[str, Annotated[str, Field(max_length=65_536)]] = Field(
        default_factory=dict, max_length=8
    )
    tags: list[Annotated[str, Field(pattern=TAG)]] = Field(default_factory=list, max_length=8)
    host: str = Field(default="fleetdeck", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
    snapshot: str | None = Field(default=None, pattern=r"^[0-9a-f]{8,64}$")
    create: bool = False
    replace: bool = False
    keep_last: int | None = Field(default=None, ge=1, le=10_000)
    timeout_s: float = Field(default=3600.0, gt=0, le=86_400)


class ResticJobResult(BaseModel, extra="allow"):
    """What the helper said: its exit code, restic's summary (backup) and its last stderr."""

    exit_code: int
    summary: dict[str, Any] | None = None
    removed: list[str] = Field(default_factory=list)
    created: bool = False
    stderr: str = ""
    duration_s: float = 0.0


class VolumeBackupPolicyCreate(RequestBody):
    """``POST /backups/volumes/policies``: what to back up, when, where and how consistently.

    A policy names a ``stack`` (and optionally a ``service``) — every named volume its
    containers mount, or only ``volumes`` — or, without a stack, ``volumes`` on ``node``.
    """

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
    environment: str = Field(min_length=1, max_length=64)
    node: str | None = Field(default=None, max_length=128)
    stack: str | None = Field(default=None, max_length=64)
    service: str | None = Field(default=None, max_length=64)
    volumes: list[str] = Field(default_factory=list, max_length=64)
    target: str = Field(min_length=1, max_length=64)
    interval_s: float | None = Field(default=86_400.0, ge=60, le=366 * 86_400)
    keep_last: int = Field(default=7, ge=1, le=10_000)
    consistency: Consistency = "none"
    pre_hook: str | None = Field(default=None, min_length=1, max_length=MAX_HOOK_CHARS)
    post_hook: str | None = Field(default=None, min_length=1, max_length=MAX_HOOK_CHARS)
    passphrase: str | None = Field(default=None, min_length=1, max_length=1024)
    enabled: bool = True


class VolumeBackupPolicy(BaseModel):
    """A volume backup policy as the API shows it (its passphrase never)."""

    name: str
    source: str
    environment: str
    node: str | None = None
    stack: str | None = None
    service: str | None = None
    volumes: list[str]
    target: str
    interval_s: float | None = None
    keep_last: int
    consistency: str
    pre_hook: str | None = None
    post_hook: str | None = None
    has_passphrase: bool = False
    enabled: bool
    next_due_in_s: float | None = None
    created_at: IsoDatetime


class VolumeBackupCreate(RequestBody):
    """``POST /backups/volumes``: run a policy now."""

    policy: str = Field(min_length=1, max_length=64)


class VolumeBackupRun(BaseModel):
    """One volume's backup (``ok``: restic wrote the snapshot; ``restart_error``: kept, alerted)."""

    id: str
    policy: str | None = None
    environment: str
    node: str
    volume: str
    target: str
    trigger: str
    consistency: str
    status: str
    started_at: IsoDatetime
    finished_at: IsoDatetime | None = None
    snapshot: str | None = None
    size_bytes: int | None = None
    added_bytes: int | None = None
    files: int | None = None
    duration_s: float | None = None
    error: str | None = None
    restart_error: str | None = None


class VolumeRestore(RequestBody):
    """``POST /backups/volumes/restore``: a backup into a volume, here or on another node."""

    backup: str = Field(min_length=4, max_length=64)
    environment: str | None = Field(default=None, max_length=64)
    node: str | None = Field(default=None, max_length=128)
    volume: str | None = Field(default=None, pattern=VOLUME_NAME)
    replace: bool = False
    passphrase: str | None = Field(default=None, min_length=1, max_length=1024)


class VolumeRestoreResult(BaseModel):
    """Where a backup was restored."""

    backup: str
    snapshot: str
    environment: str
    node: str
    volume: str
    created: bool
    duration_s: float
