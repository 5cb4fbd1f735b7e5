"""Server backups: stage, write with restic, verify, keep what the policy says, record.

One backup at a time (a second request while one runs is a conflict). A run is recorded as
``running`` before anything is written and as ``ok`` only after restic has written the
snapshot, ``restic check`` has passed and the snapshot's manifest has been read back,
decrypted, and found equal to what was staged. Then the target's retention policy is applied
(``restic forget --keep-daily N --keep-weekly M --prune``) and the runs whose snapshots it
removed are marked ``forgotten``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import (
    BackupDamagedError,
    ConflictError,
    FleetdeckError,
    InvalidInputError,
    NotFoundError,
)
from fleetdeck.server.alerts.rules import BACKUP_FAILED
from fleetdeck.server.backups import staging
from fleetdeck.server.backups.restic import SERVER_TAG, Restic, ResticRepo
from fleetdeck.server.backups.targets import (
    Credentials,
    Destination,
    check_directory,
    check_name,
    open_repo,
    parse_destination,
)
from fleetdeck.server.store.models_backups import BackupRun, BackupTarget

if TYPE_CHECKING:
    from fleetdeck.clock import Clock
    from fleetdeck.server.alerts.service import AlertService
    from fleetdeck.server.backups.repository import BackupRepository
    from fleetdeck.server.config import ServerSettings
    from fleetdeck.server.loops import BackgroundLoop
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.store.models_backups import BackupSchedule

log = logging.getLogger(__name__)

#: Where backups are staged, inside the data dir (same disk, private; cleared at start).
STAGING_DIR = "backup-staging"
MAX_ERROR_CHARS = 500
#: What a target's stored secret is (``BackupTarget.secret_kind``).
KEY, PASSWORD, S3_SECRET = "key", "password", "s3"  # noqa: S105 - names, not secrets


def _context(name: str) -> str:
    """What a target's secret is sealed with (a copy under another name won't open)."""
    return f"backup-target:{name}"


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found."""

    target: str
    snapshot_id: str
    files: int
    read_data: bool
    checked_at: float


@dataclass(frozen=True)
class ResolvedTarget:
    """A target ready for use: its address, credentials and retention (None: ad hoc)."""

    label: str
    dest: Destination
    creds: Credentials
    keep: tuple[int, int] | None


class BackupService:
    """Server backups and their targets.

    Args:
        settings: The server's settings (data dir, store URL, passphrase).
        repo: The backup tables.
        secrets: Seals and opens targets' credentials.
        clock: The present.
        alerts: Where a failed backup is reported (None: not reported).
    """

    def __init__(
        self,
        settings: ServerSettings,
        repo: BackupRepository,
        secrets: SecretBox,
        clock: Clock,
        alerts: AlertService | None = None,
    ) -> None:
        self.settings = settings
        self.repo = repo
        self._secrets = secrets
        self.clock = clock
        self.alerts = alerts
        self._lock = asyncio.Lock()
        #: The schedule loop (set by the part's ``start``), woken when the schedule changes.
        self.loop: BackgroundLoop | None = None

    # --- targets -------------------------------------------------------------------------

    async def add_target(
        self,
        name: str,
        destination: str,
        *,
        known_hosts: str | None = None,
        ssh_key: str | None = None,
        ssh_password: str | None = None,
        access_key_id: str | None = None,
        secret_key: str | None = None,
        keep_daily: int = 7,
        keep_weekly: int = 4,
    ) -> BackupTarget:
        """Add a target; its secret is sealed before it is stored."""
        check_name(name)
        dest = parse_destination(destination, self.settings.data_dir)
        check_directory(dest)
        secret, secret_kind = None, None
        if dest.kind == "sftp":
            if not known_hosts or not known_hosts.strip():
                raise InvalidInputError(
                    "an SFTP target needs the server's host key (known_hosts)",
                    hint="ssh-keyscan -p PORT HOST > known_hosts; pass --known-hosts known_hosts",
                )
            if (ssh_key is None) == (ssh_password is None):
                raise InvalidInputError("give an SFTP target an SSH key or a password (one)")
            secret_kind = KEY if ssh_key is not None else PASSWORD
            secret = ssh_key if ssh_key is not None else ssh_password
        elif dest.kind == "s3":
            if not access_key_id or not secret_key:
                raise InvalidInputError("an S3 target needs an access key id and a secret key")
            secret, secret_kind = secret_key, S3_SECRET
        elif any(v is not None for v in (known_hosts, ssh_key, ssh_password, secret_key)):
            raise InvalidInputError("a directory target takes no credentials")
        sealed = None if secret is None else self._secrets.seal(secret, _context(name))
        row = BackupTarget(
            name=name,
            kind=dest.kind,
            url=dest.url,
            known_hosts=known_hosts.strip() if known_hosts else None,
            access_key_id=access_key_id if dest.kind == "s3" else None,
            secret_encrypted=sealed,
            secret_kind=secret_kind,
            keep_daily=keep_daily,
            keep_weekly=keep_weekly,
        )
        return await self.repo.add_target(row)

    async def targets(self) -> list[BackupTarget]:
        """Every target."""
        return await self.repo.targets()

    async def remove_target(self, name: str) -> None:
        """Forget a target (the schedule loses it too)."""
        schedule = await self.repo.schedule()
        await self.repo.delete_target(name)
        if schedule.target == name:
            await self.repo.save_schedule(False, schedule.interval_s, None)

    def _resolved(self, row: BackupTarget) -> ResolvedTarget:
        secret = None
        if row.secret_encrypted is not None:
            secret = self._secrets.open(row.secret_encrypted, _context(row.name))
        kind = row.secret_kind
        creds = Credentials(
            known_hosts=row.known_hosts,
            ssh_key=secret if kind == KEY else None,
            ssh_password=secret if kind == PASSWORD else None,
            access_key_id=row.access_key_id,
            secret_key=secret if kind == S3_SECRET else None,
        )
        dest = parse_destination(row.url)
        return ResolvedTarget(row.name, dest, creds, (row.keep_daily, row.keep_weekly))

    async def resolve(self, target: str | None) -> ResolvedTarget:
        """A target by name, an ad-hoc directory, or the default one.

        The default is the schedule's target, else the only target there is.

        Raises:
            InvalidInputError: No target given and no default; a bad directory.
            NotFoundError: No target of that name.
        """
        if target is not None and target.startswith("/"):
            dest = parse_destination(target, self.settings.data_dir)
            check_directory(dest)
            return ResolvedTarget(dest.url, dest, Credentials(), None)
        if target is None:
            schedule = await self.repo.schedule()
            target = schedule.target
        if target is None:
            rows = await self.repo.targets()
            if len(rows) != 1:
                raise InvalidInputError(
                    "say which target to back up to (--target NAME or a directory)",
                    hint="add one with `fleetdeck backup target add`",
                )
            return self._resolved(rows[0])
        return self._resolved(await self.repo.target(target))

    def _passphrase(self, given: str | None) -> str:
        passphrase = given if given else self.settings.backup_passphrase_value()
        if not passphrase:
            raise InvalidInputError(
                "no backup passphrase",
                hint="set FLEETDECK_BACKUP_PASSPHRASE (server or CLI) or pass --passphrase-file",
            )
        return passphrase

    # --- backups ---------------------------------------------------------------------------

    async def start(self) -> None:
        """At server start: runs a stopped server left behind are ``interrupted``."""
        count = await self.repo.mark_interrupted()
        if count:
            log.warning("%d backup run(s) were interrupted by a stop; not counted as good", count)
        await asyncio.to_thread(
            shutil.rmtree, self.settings.data_dir / STAGING_DIR, ignore_errors=True
        )

    async def create(
        self, target: str | None = None, passphrase: str | None = None, trigger: str = "manual"
    ) -> BackupRun:
        """Back the server up now; the finished run (``ok``), or the error it failed with.

        Raises:
            ConflictError: A backup is running already.
            FleetdeckError: The backup failed (recorded as ``failed``, alerted).
        """
        if self._lock.locked():
            raise ConflictError("a server backup is running already")
        async with self._lock:
            resolved = await self.resolve(target)
            secret = self._passphrase(passphrase)
            run = await self.repo.add_run(
                BackupRun(target=resolved.label, trigger=trigger, status="running",
                          started_at=self.clock.now())
            )  # fmt: skip
            started = time.monotonic()
            try:
                facts = await asyncio.to_thread(self._write, resolved, secret, run.id)
            except Exception as exc:
                message = exc.message if isinstance(exc, FleetdeckError) else "internal error"
                await self.repo.update_run(
                    run.id, status="failed", finished_at=self.clock.now(),
                    duration_s=time.monotonic() - started, error=message[:MAX_ERROR_CHARS],
                )  # fmt: skip
                await self._alert(resolved.label, f"backup to {resolved.label} failed: {message}")
                raise
            now = self.clock.now()
            await self.repo.update_run(
                run.id, status="ok", finished_at=now, verified_at=now,
                duration_s=time.monotonic() - started, **facts,
            )  # fmt: skip
            await self._alert(resolved.label, f"backup to {resolved.label} succeeded", True)
            await self._apply_retention(resolved, secret)
            return await self.repo.run(run.id)

    def _write(self, target: ResolvedTarget, passphrase: str, run_id: str) -> dict[str, Any]:
        """Stage, back up, check and read back (in a worker thread); the run's figures."""
        stage_dir = self.settings.data_dir / STAGING_DIR / run_id
        stage_dir.mkdir(parents=True, mode=0o700)
        try:
            check_directory(target.dest)  # again: a share may have been unmounted since
            manifest = staging.stage(self.settings, stage_dir)
            with open_repo(target.dest, passphrase, target.creds, target.label) as repo:
                restic = Restic(repo)
                restic.ensure()
                summary = restic.backup(stage_dir, [SERVER_TAG])
                snapshot_id = str(summary["snapshot_id"])
                restic.check()
                back = staging.read_manifest(
                    restic.dump(snapshot_id, f"{stage_dir}/{staging.MANIFEST}"), target.label
                )
                if back["files"] != manifest["files"]:
                    raise BackupDamagedError(
                        f"snapshot {snapshot_id} on {target.label} does not read back as written"
                    )
        finally:
            shutil.rmtree(stage_dir, ignore_errors=True)
        return {
            "snapshot_id": snapshot_id,
            "size_bytes": sum(int(f["size"]) for f in manifest["files"].values()),
            "added_bytes": int(summary.get("data_added", 0)),
            "files": len(manifest["files"]),
        }

    async def _apply_retention(self, target: ResolvedTarget, passphrase: str) -> None:
        if target.keep is None:
            return
        keep_daily, keep_weekly = target.keep

        def forget() -> list[str]:
            with open_repo(target.dest, passphrase, target.creds, target.label) as repo:
                return Restic(repo).forget(keep_daily, keep_weekly)

        try:
            removed = await asyncio.to_thread(forget)
        except FleetdeckError as exc:
            # The backup itself is good; a failed prune is retried after the next one.
            log.warning("retention on %s failed: %s", target.label, exc.message)
            await self._alert(target.label, f"retention on {target.label} failed: {exc.message}")
            return
        await self.repo.mark_forgotten(target.label, removed)

    async def _alert(self, target: str, message: str, resolved: bool = False) -> None:
        if self.alerts is not None:
            await self.alerts.report_event(
                BACKUP_FAILED, {"target": target}, message, "critical", resolved=resolved
            )

    async def runs(self, limit: int = 100) -> list[BackupRun]:
        """The newest runs first."""
        return await self.repo.runs(limit)

    async def verify(
        self,
        target: str | None = None,
        snapshot: str | None = None,
        passphrase: str | None = None,
        read_data: bool = False,
    ) -> Verification:
        """Check a target's repository and read a snapshot's manifest back.

        The snapshot is ``snapshot`` (an id or prefix), else the newest good run's on that
        target, else the repository's newest. ``read_data`` reads and hashes every pack.

        Raises:
            BackupPassphraseError, BackupDamagedError, NotFoundError, ExternalCommandError.
        """
        run = None
        if snapshot is not None and target is None:
            run = await self.repo.run(snapshot)
            target = run.target
        resolved = await self.resolve(target)
        secret = self._passphrase(passphrase)
        if snapshot is None:
            good = [r for r in await self.repo.runs(10_000) if r.target == resolved.label]
            good = [r for r in good if r.status == "ok" and r.snapshot_id]
            if good:
                run, snapshot = good[0], good[0].snapshot_id

        def check() -> tuple[str, int]:
            with open_repo(resolved.dest, secret, resolved.creds, resolved.label) as repo:
                return _verify_repo(repo, snapshot or "latest", read_data)

        snapshot_id, files = await asyncio.to_thread(check)
        if run is not None:
            await self.repo.update_run(run.id, verified_at=self.clock.now())
        return Verification(resolved.label, snapshot_id, files, read_data, time.time())

    # --- schedule --------------------------------------------------------------------------

    async def schedule(self) -> BackupSchedule:
        """The schedule."""
        return await self.repo.schedule()

    async def set_schedule(
        self, enabled: bool, interval_s: float | None, target: str | None
    ) -> BackupSchedule:
        """Change the schedule (``None``: keep that part as it is)."""
        current = await self.repo.schedule()
        interval = current.interval_s if interval_s is None else interval_s
        name = current.target if target is None else target
        if name is not None:
            await self.repo.target(name)  # NotFoundError for an unknown one
        if enabled and name is None:
            raise InvalidInputError("a schedule needs a target (--target NAME)")
        await self.repo.save_schedule(enabled, interval, name)
        return await self.repo.schedule()

    async def idle(self) -> None:
        """Return once no backup is running (shutdown, tests)."""
        async with self._lock:
            pass

    def wake(self) -> None:
        """Look at the schedule now (it changed)."""
        if self.loop is not None:
            self.loop.wake()

    async def next_due_in(self) -> float | None:
        """Seconds until the next scheduled backup (0: due now; None: no schedule).

        Derived from the stored runs, so a restarted server keeps the rhythm.
        """
        schedule = await self.repo.schedule()
        if not schedule.enabled or schedule.target is None:
            return None
        scheduled = [r for r in await self.repo.runs(200) if r.trigger == "schedule"]
        if not scheduled:
            return 0.0
        age = (self.clock.now() - scheduled[0].started_at).total_seconds()
        return max(0.0, schedule.interval_s - age)

    async def due(self) -> bool:
        """Whether the schedule wants a backup now."""
        left = await self.next_due_in()
        return left is not None and left <= 0

    async def scheduled_step(self) -> None:
        """One run of the schedule loop: back up when due (a failure is recorded, alerted)."""
        if self._lock.locked() or not await self.due():
            return
        try:
            await self.create(trigger="schedule")
        except FleetdeckError as exc:
            log.warning("scheduled backup failed: %s", exc.message)


def _verify_repo(repo: ResticRepo, snapshot: str, read_data: bool) -> tuple[str, int]:
    """``restic check`` and a read-back of a snapshot's manifest; (snapshot id, files)."""
    restic = Restic(repo)
    restic.check(read_data=read_data)
    snap = restic.snapshot(snapshot)
    paths = snap.get("paths") or []
    if len(paths) != 1:
        raise NotFoundError(f"snapshot {snapshot} on {repo.name} is not a server backup")
    manifest = staging.read_manifest(
        restic.dump(str(snap["id"]), f"{paths[0]}/{staging.MANIFEST}"), repo.name
    )
    return str(snap["short_id"]), len(manifest["files"])
