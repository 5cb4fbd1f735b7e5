"""restic, the one tool that writes, checks, prunes and reads back fleetdeck's backups.

Why restic and not our own archive code: it encrypts (AES-256 + Poly1305, key derived from
the operator's passphrase with scrypt), deduplicates, makes snapshots atomically (a snapshot
exists only once its index and tree are written, so a process killed mid-backup leaves no
snapshot), verifies (``restic check --read-data``), applies retention policies and speaks to a
directory, SFTP and S3 alike. Debian ships it (0.14 here).

This module runs the ``restic`` binary synchronously (callers on the event loop use
``asyncio.to_thread``) and turns its failures into fleetdeck errors, one clear kind each: a
wrong passphrase, a damaged repository, an unreachable target, a full target.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import (
    BackupDamagedError,
    BackupPassphraseError,
    ExternalCommandError,
    NotFoundError,
    PrerequisiteMissingError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

#: The tag on every server backup (retention groups by it, so staging paths don't matter).
SERVER_TAG = "fleetdeck-server"
#: The host name recorded in every server snapshot.
SNAPSHOT_HOST = "fleetdeck"
#: Longest one restic command may run before it is stopped (a hung SFTP link, say).
COMMAND_TIMEOUT_S = 3600.0
#: Longest bit of restic's stderr quoted in an error.
MAX_ERROR_CHARS = 400


@dataclass(frozen=True)
class ResticRepo:
    """Where a repository is and how to reach it.

    Attributes:
        location: What restic calls the repository: a directory, ``sftp:…``, ``s3:…``.
        passphrase: The repository's passphrase (the operator's).
        options: ``-o KEY=VALUE`` options (``sftp.command``).
        env: Extra environment for restic (S3 keys, the SSH askpass password).
        label: How the target is named in errors (never with credentials).
    """

    location: str
    passphrase: str
    options: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    label: str = ""

    @property
    def name(self) -> str:
        """The target's name for messages."""
        return self.label or self.location


def restic_binary() -> str:
    """The path of ``restic``.

    Raises:
        PrerequisiteMissingError: restic is not installed.
    """
    found = shutil.which("restic")
    if found is None:
        raise PrerequisiteMissingError(
            "restic is not installed: backups need it", hint="apt-get install restic"
        )
    return found


def _classify(repo: ResticRepo, stderr: str) -> Exception:
    """The fleetdeck error for a failed restic command, from what restic printed."""
    text = stderr.strip()
    low = text.lower()
    quoted = text[-MAX_ERROR_CHARS:]
    if "wrong password" in low or "no key found" in low:
        return BackupPassphraseError(
            f"the backup passphrase does not open the repository on {repo.name}",
            hint="use the passphrase the repository was created with",
        )
    if "no space left" in low or "disk quota exceeded" in low:
        return ExternalCommandError(
            f"backup target {repo.name} is full: {quoted}", hint="free space or prune old backups"
        )
    if "is there a repository at the following location" in low:
        return NotFoundError(f"no backup repository on {repo.name}")
    if any(
        marker in low
        for marker in (
            "ssh command exited",
            "connection refused",
            "no route to host",
            "connection reset",
            "host key verification failed",
            "permission denied (publickey",
            "connection timed out",
            "could not resolve",
            "unable to open repository",
        )
    ):
        return ExternalCommandError(
            f"backup target {repo.name} is unreachable: {quoted}",
            hint="check the address, the credentials and the host key",
        )
    if any(
        marker in low
        for marker in (
            "ciphertext verification failed",
            "unexpected eof",
            "invalid data returned",
            "pack file cannot be listed",
            "hash does not match",
            "errors were found",
            "error for tree",
            "load(<",
            "unable to load",
            "decrypting",
            "does not match",
            "is damaged",
            "not found in index",
            "unexpected end",
            "truncated",
        )
    ):
        return BackupDamagedError(
            f"the backup repository on {repo.name} is damaged: {quoted}",
            hint="restore from another target or an older snapshot",
        )
    return ExternalCommandError(f"restic failed on {repo.name}: {quoted}")


class Restic:
    """Runs restic commands against one repository.

    Args:
        repo: The repository.
        cache_dir: restic's cache (``None``: none, every read goes to the target).
    """

    def __init__(self, repo: ResticRepo, cache_dir: Path | None = None) -> None:
        self.repo = repo
        self.cache_dir = cache_dir

    def _argv(self, args: Sequence[str]) -> list[str]:
        argv = [restic_binary(), "--repo", self.repo.location]
        for key, value in self.repo.options.items():
            argv += ["-o", f"{key}={value}"]
        if self.cache_dir is None:
            argv.append("--no-cache")
        else:
            argv += ["--cache-dir", str(self.cache_dir)]
        return [*argv, *args]

    def run(self, *args: str, cwd: Path | None = None) -> str:
        """Run ``restic ARGS`` and return its stdout.

        Raises:
            BackupPassphraseError, BackupDamagedError, NotFoundError, ExternalCommandError:
                restic failed (see :func:`_classify`).
        """
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "RESTIC_PASSWORD": self.repo.passphrase,
            **self.repo.env,
        }
        try:
            done = subprocess.run(  # noqa: S603 - argv built here, no shell
                self._argv(args),
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ExternalCommandError(
                f"restic {args[0]} on {self.repo.name} took longer than {COMMAND_TIMEOUT_S:.0f} s"
            ) from None
        if done.returncode != 0:
            raise _classify(self.repo, done.stderr or done.stdout)
        if "invalid data returned" in done.stderr or "could not load snapshot" in done.stderr:
            # restic lists what it can read and says the rest on stderr, exit status 0.
            raise BackupDamagedError(
                f"the backup repository on {self.repo.name} is damaged: "
                f"{done.stderr.strip()[-MAX_ERROR_CHARS:]}"
            )
        return done.stdout

    def run_json(self, *args: str) -> Any:
        """Run a restic command with ``--json`` and parse its answer."""
        out = self.run(*args, "--json")
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            raise ExternalCommandError(
                f"restic {args[0]} on {self.repo.name} gave no JSON answer"
            ) from None

    def exists(self) -> bool:
        """Whether a repository is there (its passphrase checked)."""
        try:
            self.run("cat", "config")
        except NotFoundError:
            return False
        return True

    def ensure(self) -> bool:
        """Create the repository if there is none; True when it was created."""
        if self.exists():
            return False
        self.run("init")
        return True

    def backup(self, source: Path, tags: Sequence[str]) -> dict[str, Any]:
        """Back ``source`` up; restic's summary (``snapshot_id``, ``data_added``, …)."""
        tag_args = [arg for tag in tags for arg in ("--tag", tag)]
        out = self.run("backup", str(source), "--host", SNAPSHOT_HOST, *tag_args, "--json")
        for line in reversed(out.splitlines()):
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(message, dict) and message.get("message_type") == "summary":
                return message
        raise ExternalCommandError(f"restic backup on {self.repo.name} gave no summary")

    def snapshots(self, tag: str = SERVER_TAG) -> list[dict[str, Any]]:
        """The repository's snapshots with ``tag``, oldest first."""
        items = self.run_json("snapshots", "--tag", tag)
        return sorted(items or [], key=lambda s: str(s.get("time", "")))

    def snapshot(self, ref: str, tag: str = SERVER_TAG) -> dict[str, Any]:
        """The snapshot ``ref`` (an id or its prefix, or ``latest``).

        Raises:
            NotFoundError: No such snapshot.
        """
        items = self.snapshots(tag)
        if ref == "latest" and items:
            return items[-1]
        matches = [s for s in items if str(s.get("id", "")).startswith(ref)] if ref else []
        if len(matches) != 1:
            raise NotFoundError(f"no backup {ref!r} on {self.repo.name}")
        return matches[0]

    def check(self, read_data: bool = False) -> None:
        """``restic check`` (``--read-data``: every pack read and its hashes checked)."""
        self.run("check", *(["--read-data"] if read_data else []))

    def dump(self, snapshot_id: str, path: str) -> bytes:
        """One file of a snapshot, decrypted (``path`` absolute inside the snapshot)."""
        return self.run("dump", snapshot_id, path).encode()

    def restore(self, snapshot_id: str, target: Path) -> None:
        """Restore a snapshot under ``target`` (its paths recreated below it), verified."""
        self.run("restore", snapshot_id, "--target", str(target), "--verify")

    def forget(self, keep_daily: int, keep_weekly: int) -> list[str]:
        """Apply a retention policy to the server's snapshots and prune; the removed ids."""
        answer = self.run_json(
            "forget", "--tag", SERVER_TAG, "--group-by", "tags",
            "--keep-daily", str(keep_daily), "--keep-weekly", str(keep_weekly),
        )  # fmt: skip
        removed: list[str] = []
        for group in answer or []:
            removed += [str(s["id"]) for s in group.get("remove") or []]
        if removed:
            self.run("prune")  # --prune's report would break forget's JSON
        return removed
