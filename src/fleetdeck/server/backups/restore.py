"""``fleetdeck server restore``: a server backup into a new data directory, all or nothing.

The restore never touches an existing server: the data directory must be new (absent or
empty). Everything happens in a temp directory next to it (same filesystem): restic restores
the snapshot there (``--verify``: every file's content checked against the repository), every
file is checked against the backup's manifest (size and SHA-256), the store is opened and
``PRAGMA integrity_check``ed, history is dropped if asked; only then is the result renamed into
place, one ``rename``. Any failure removes the temp directory and leaves nothing behind.

Starting a server on the restored directory brings everything back, with the same CA (agents
keep trusting it and are reached without re-enrolment) and the same master key (sealed
secrets open); a newer release migrates the store at that start, as after any upgrade.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetdeck.errors import BackupDamagedError, ConflictError, InvalidInputError
from fleetdeck.server.backups import staging
from fleetdeck.server.backups.restic import Restic
from fleetdeck.server.backups.targets import Credentials, open_repo, parse_destination

#: Files of a backup that are about it, not part of the data dir (kept under these names).
RESTORED_MANIFEST = "restored-from.json"


@dataclass(frozen=True)
class BackupRef:
    """Which repository and which snapshot (``latest`` when none is named)."""

    repository: str
    snapshot: str


def parse_backup_ref(backup: str, repository: str | None) -> BackupRef:
    """``REPO``, ``REPO#SNAPSHOT``, or ``SNAPSHOT`` with ``--repo REPO``.

    Raises:
        InvalidInputError: A bare snapshot id without a repository.
    """
    if repository is not None:
        return BackupRef(repository, backup)
    repo, sep, snapshot = backup.rpartition("#")
    if sep and repo:
        return BackupRef(repo, snapshot or "latest")
    if backup.startswith(("/", "sftp://", "s3:")):
        return BackupRef(backup, "latest")
    raise InvalidInputError(
        f"{backup!r} names no repository",
        hint="give REPO#SNAPSHOT, or the id from `fleetdeck backup ls` with --repo REPO",
    )


def _check_new(data_dir: Path) -> None:
    if data_dir.is_symlink() or (data_dir.exists() and not data_dir.is_dir()):
        raise ConflictError(f"{data_dir} is not a directory")
    if data_dir.is_dir() and any(data_dir.iterdir()):
        raise ConflictError(
            f"{data_dir} is not empty: a restore goes into a new data directory only",
            hint="give a new directory; the restore never overwrites a server",
        )


def _check_store(db: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupDamagedError(f"the restored store does not open: {exc}") from None
    if result is None or result[0] != "ok":
        raise BackupDamagedError(f"the restored store is damaged: {result}")


def restore(
    ref: BackupRef,
    data_dir: Path,
    passphrase: str,
    creds: Credentials | None = None,
    history: bool = True,
) -> dict[str, Any]:
    """Restore ``ref`` into the new directory ``data_dir``; what was restored.

    Raises:
        ConflictError: ``data_dir`` exists and is not empty.
        BackupPassphraseError: The passphrase is wrong.
        BackupDamagedError: The backup is truncated or tampered with.
        NotFoundError: No such repository or snapshot.
        ExternalCommandError: The target cannot be reached.
    """
    data_dir = Path(os.path.abspath(data_dir))
    _check_new(data_dir)
    dest = parse_destination(ref.repository)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restore-", dir=data_dir.parent))
    try:
        with open_repo(dest, passphrase, creds or Credentials(), dest.url) as repo:
            restic = Restic(repo)
            snap = restic.snapshot(ref.snapshot)
            paths = snap.get("paths") or []
            if len(paths) != 1 or not str(paths[0]).startswith("/"):
                raise BackupDamagedError(f"snapshot {ref.snapshot} is not a server backup")
            restic.restore(str(snap["id"]), work / "raw")
        staged = work / "raw" / str(paths[0]).lstrip("/")
        manifest_file = staged / staging.MANIFEST
        if not manifest_file.is_file():
            raise BackupDamagedError(f"snapshot {snap['short_id']} has no backup manifest")
        manifest = staging.read_manifest(manifest_file.read_bytes(), str(snap["short_id"]))
        staging.verify_tree(staged, manifest)
        _check_store(staged / staging.STORE_DB)
        if not history:
            staging.drop_history(staged / staging.STORE_DB)
            (staged / staging.LOGS_DB).unlink(missing_ok=True)
        manifest_file.rename(staged / RESTORED_MANIFEST)
        staged.chmod(0o700)
        if data_dir.is_dir():
            data_dir.rmdir()  # empty (checked): the rename needs the name free
        staged.rename(data_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "data_dir": str(data_dir),
        "snapshot": str(snap["short_id"]),
        "created_at": manifest.get("created_at"),
        "fleetdeck_version": manifest.get("fleetdeck_version"),
        "schema_revision": manifest.get("schema_revision"),
        "files": len(manifest["files"]),
        "history": history and bool(manifest.get("history", True)),
        "master_key": manifest.get("master_key"),
    }
