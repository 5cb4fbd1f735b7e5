"""An online, consistent copy of what the server owns, staged in a directory for restic.

What is copied (everything a fresh server needs to *be* this server):

- ``fleetdeck.db`` through SQLite's online backup API (a consistent copy while the server
  writes; never a file copy of a live WAL database): users, tokens, environments and nodes,
  stacks with their revisions, files and blobs, variables and sealed secrets, alert rules and
  channels, registries, backup targets and schedule, metrics history;
- ``logs.db`` the same way (logs history; left out with ``history=False``);
- ``ca/`` (the CA certificate and key: agents keep trusting the restored server) and ``tls/``
  (the server's certificate);
- ``master.key``, which seals every stored secret (inside the encrypted backup; when the key
  comes from ``FLEETDECK_MASTER_KEY`` instead, the manifest says so and the operator brings it);
- ``stacks/`` (the stacks' working directories) and ``local-agents/`` (a local environment's
  agent identity);
- ``settings.json``: the effective settings, secrets masked (for the operator's reference).

``manifest.json`` lists every file with its size and SHA-256, so a restore can prove that
what came back is what was written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetdeck import __version__
from fleetdeck.errors import BackupDamagedError, InvalidInputError

if TYPE_CHECKING:
    from fleetdeck.server.config import ServerSettings

MANIFEST = "manifest.json"
FORMAT = 1
STORE_DB = "fleetdeck.db"
LOGS_DB = "logs.db"
#: Directories of the data dir copied as they are.
TREES = ("ca", "tls", "stacks", "local-agents")
MASTER_KEY = "master.key"
#: Tables that hold history only (left out of a restore with ``--without-history``).
HISTORY_TABLES = (
    "metric_samples",
    "metric_rollups",
    "metric_rollup_state",
    "metric_series",
)
#: Rows copied per step of the SQLite backup API (the server's writers get turns between).
BACKUP_PAGES_PER_STEP = 1024


def sqlite_copy(source: Path, dest: Path) -> None:
    """Copy a live SQLite database with the backup API (a consistent snapshot)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst, pages=BACKUP_PAGES_PER_STEP)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
    finally:
        src.close()


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def schema_revision(db: Path) -> str | None:
    """The Alembic revision of a SQLite store (None if it has none)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return None if row is None else str(row[0])


def _copy_tree(source: Path, dest: Path) -> None:
    # Sockets and other special files (a local agent's) are not data: leave them out.
    def ignore(directory: str, names: list[str]) -> list[str]:
        base = Path(directory)
        return [n for n in names if not ((base / n).is_file() or (base / n).is_dir())]

    shutil.copytree(source, dest, symlinks=True, ignore=ignore)


def stage(settings: ServerSettings, dest: Path, history: bool = True) -> dict[str, Any]:
    """Copy what the server owns into the empty directory ``dest``; the manifest.

    Raises:
        InvalidInputError: The store is not SQLite (PostgreSQL: back it up with ``pg_dump``).
    """
    if settings.database_url and not settings.database_url.startswith("sqlite"):
        raise InvalidInputError(
            "server backups cover the embedded SQLite store only",
            hint="back a PostgreSQL store up with pg_dump next to this backup",
        )
    data_dir = settings.data_dir
    db = Path(settings.db_url.split(":///", 1)[1])
    sqlite_copy(db, dest / STORE_DB)
    if history and (data_dir / LOGS_DB).is_file():
        sqlite_copy(data_dir / LOGS_DB, dest / LOGS_DB)
    for name in TREES:
        if (data_dir / name).is_dir():
            _copy_tree(data_dir / name, dest / name)
    master_key = "environment" if settings.master_key is not None else "file"
    if master_key == "file" and (data_dir / MASTER_KEY).is_file():
        shutil.copy2(data_dir / MASTER_KEY, dest / MASTER_KEY)
    (dest / "settings.json").write_text(json.dumps(settings.effective(), indent=2, default=str))
    files = {
        str(p.relative_to(dest)): {"size": p.stat().st_size, "sha256": sha256_of(p)}
        for p in sorted(dest.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "fleetdeck_version": __version__,
        "schema_revision": schema_revision(dest / STORE_DB),
        "created_at": datetime.now(UTC).isoformat(),
        "master_key": master_key,
        "history": history,
        "files": files,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def read_manifest(text: str | bytes, where: str) -> dict[str, Any]:
    """Parse a manifest read back from a backup.

    Raises:
        BackupDamagedError: It is not a fleetdeck manifest.
    """
    try:
        manifest = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        manifest = None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), dict)
    ):
        raise BackupDamagedError(f"{where} has no readable fleetdeck backup manifest")
    return manifest


def verify_tree(root: Path, manifest: dict[str, Any]) -> None:
    """Check that every file the manifest lists is under ``root`` with its size and hash.

    Raises:
        BackupDamagedError: A file is missing or differs.
    """
    for name, facts in manifest["files"].items():
        path = root / name
        if not path.is_file():
            raise BackupDamagedError(f"the backup lacks {name}")
        if path.stat().st_size != facts.get("size") or sha256_of(path) != facts.get("sha256"):
            raise BackupDamagedError(f"{name} in the backup differs from what was written")


def drop_history(db: Path) -> None:
    """Empty the history tables of a restored store copy (``--without-history``)."""
    conn = sqlite3.connect(db)
    try:
        for table in HISTORY_TABLES:
            with contextlib.suppress(sqlite3.OperationalError):  # a table an older schema lacks
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - names from the tuple above
        conn.commit()
        conn.execute("VACUUM")
    finally:
        conn.close()
