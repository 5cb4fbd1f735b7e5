"""Backup targets: what an operator types, checked, and turned into a restic repository.

Three kinds:

- ``dir``: an absolute directory on the server's host (local disk or a mounted share);
- ``sftp``: ``sftp://USER@HOST[:PORT]/PATH``, authenticated by an SSH private key or a
  password, the server's host key pinned by a ``known_hosts`` line the operator gives
  (no trust on first use: a backup target that can be impersonated receives everything);
- ``s3``: ``s3:https://HOST/BUCKET[/PATH]`` with an access key id and a secret key.

Credentials only ever leave the store for the duration of one restic command: an SSH key is
written to a 0600 file in a private temp directory (removed afterwards), a password reaches
``ssh`` through ``SSH_ASKPASS``, S3 keys through restic's environment.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.backups.restic import ResticRepo

if TYPE_CHECKING:
    from collections.abc import Iterator

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: How long ssh waits for the SFTP server to answer before the target counts as unreachable.
SSH_CONNECT_TIMEOUT_S = 10
_ASKPASS = '#!/bin/sh\nprintf "%s\\n" "$FLEETDECK_SFTP_PASSWORD"\n'


@dataclass(frozen=True)
class Destination:
    """A parsed target address.

    Attributes:
        kind: ``dir``, ``sftp`` or ``s3``.
        url: The address in its normal form (stored).
        user, host, port, path: SFTP's parts (empty for other kinds).
    """

    kind: str
    url: str
    user: str = ""
    host: str = ""
    port: int = 22
    path: str = ""


def check_name(name: str) -> str:
    """A target name, or InvalidInputError."""
    if not NAME_RE.match(name):
        raise InvalidInputError(
            f"invalid backup target name {name!r}", hint="letters, digits, '.', '_', '-'"
        )
    return name


def parse_destination(text: str, data_dir: Path | None = None) -> Destination:
    """Parse where a target writes.

    Raises:
        InvalidInputError: Not an absolute directory, an ``sftp://`` or an ``s3:`` address, or a
            directory inside the server's data dir (a backup there dies with it).
    """
    text = text.strip()
    if text.startswith("sftp://"):
        parts = urlsplit(text)
        if not parts.hostname or not parts.username or not parts.path.startswith("/"):
            raise InvalidInputError(
                f"invalid SFTP address {text!r}", hint="sftp://USER@HOST[:PORT]/PATH"
            )
        try:
            port = parts.port or 22
        except ValueError:
            raise InvalidInputError(f"invalid port in {text!r}") from None
        path = unquote(parts.path)
        url = f"sftp://{parts.username}@{parts.hostname}:{port}{path}"
        return Destination("sftp", url, unquote(parts.username), parts.hostname, port, path)
    if text.startswith("s3:"):
        rest = text.removeprefix("s3:")
        parts = urlsplit(rest)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(parts.path) < 2:
            raise InvalidInputError(
                f"invalid S3 address {text!r}", hint="s3:https://HOST/BUCKET[/PATH]"
            )
        return Destination("s3", text)
    if not text.startswith("/") or "\0" in text:
        raise InvalidInputError(
            f"invalid backup destination {text!r}",
            hint="an absolute directory, sftp://USER@HOST[:PORT]/PATH or s3:https://HOST/BUCKET",
        )
    directory = Path(os.path.normpath(text))
    if data_dir is not None:
        resolved, data = directory.resolve(), data_dir.resolve()
        if resolved == data or data in resolved.parents:
            raise InvalidInputError(
                f"{directory} is inside the server's data directory",
                hint="a backup must live somewhere the server's disk failing does not take",
            )
    return Destination("dir", str(directory))


def check_directory(dest: Destination) -> None:
    """A directory target must exist and be empty or hold a restic repository already.

    So a typo never sprays a repository somewhere on the server's disk, and a share that is
    not mounted (its mount point is there, not empty of the repository) is noticed.

    Raises:
        InvalidInputError: It does not exist, is not a directory, or holds other files.
    """
    if dest.kind != "dir":
        return
    path = Path(dest.url)
    if not path.is_dir():
        raise InvalidInputError(
            f"backup directory {path} does not exist", hint="create it (and mount the share)"
        )
    try:
        empty = next(path.iterdir(), None) is None
    except OSError as exc:
        raise InvalidInputError(f"backup directory {path} cannot be read: {exc}") from None
    if not empty and not (path / "config").is_file():
        raise InvalidInputError(
            f"{path} holds other files and no backup repository",
            hint="give an empty directory, or one a fleetdeck backup already uses",
        )


@dataclass(frozen=True)
class Credentials:
    """What a target authenticates with (opened from the store for one use)."""

    known_hosts: str | None = None
    ssh_key: str | None = None
    ssh_password: str | None = None
    access_key_id: str | None = None
    secret_key: str | None = None


def _sftp_command(dest: Destination, key_file: Path | None, known_hosts: Path) -> str:
    argv = [
        "ssh", "-p", str(dest.port),
        "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", f"ConnectTimeout={SSH_CONNECT_TIMEOUT_S}",
        "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3",
        "-F", "/dev/null",
    ]  # fmt: skip
    if key_file is not None:
        argv += ["-i", str(key_file), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"]
        argv += ["-o", "PasswordAuthentication=no"]
    else:
        argv += ["-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1"]
    argv += [f"{dest.user}@{dest.host}", "-s", "sftp"]
    return shlex.join(argv)


@contextlib.contextmanager
def open_repo(
    dest: Destination, passphrase: str, creds: Credentials, label: str = ""
) -> Iterator[ResticRepo]:
    """The restic repository of a destination, its credentials on disk while in use."""
    if dest.kind == "dir":
        yield ResticRepo(dest.url, passphrase, label=label or dest.url)
        return
    if dest.kind == "s3":
        if not creds.access_key_id or not creds.secret_key:
            raise InvalidInputError(f"S3 target {label or dest.url} has no access key")
        keys = {"AWS_ACCESS_KEY_ID": creds.access_key_id, "AWS_SECRET_ACCESS_KEY": creds.secret_key}
        yield ResticRepo(dest.url, passphrase, env=keys, label=label or dest.url)
        return
    if not creds.known_hosts:
        raise InvalidInputError(f"SFTP target {label or dest.url} has no known_hosts entry")
    with tempfile.TemporaryDirectory(prefix="fleetdeck-sftp-") as tmp:
        private = Path(tmp)
        private.chmod(stat.S_IRWXU)
        known_hosts = private / "known_hosts"
        known_hosts.write_text(creds.known_hosts.strip() + "\n")
        env: dict[str, str] = {}
        key_file = None
        if creds.ssh_key is not None:
            key_file = private / "id"
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(creds.ssh_key.strip() + "\n")
        elif creds.ssh_password is not None:
            askpass = private / "askpass"
            askpass.write_text(_ASKPASS)
            askpass.chmod(stat.S_IRWXU)
            env = {
                "SSH_ASKPASS": str(askpass),
                "SSH_ASKPASS_REQUIRE": "force",
                "DISPLAY": "none",
                "FLEETDECK_SFTP_PASSWORD": creds.ssh_password,
            }
        else:
            raise InvalidInputError(f"SFTP target {label or dest.url} has no key or password")
        location = f"sftp:{dest.user}@{dest.host}:{dest.path}"
        options = {"sftp.command": _sftp_command(dest, key_file, known_hosts)}
        yield ResticRepo(location, passphrase, options=options, env=env, label=label or dest.url)
