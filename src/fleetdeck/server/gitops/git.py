"""The ``git`` CLI in a subprocess: bounded, prompt-free, credentials never in argv or logs.

Every call runs ``git`` with asyncio, a timeout (killed past it), a cap on what it may print,
``GIT_TERMINAL_PROMPT=0`` and only the transports fleetdeck allows (``GIT_ALLOW_PROTOCOL``:
https, http, ssh — never ``file``/``ext``, submodules included). HTTPS credentials reach git
through a credential helper that reads two environment variables of the child; an SSH deploy
key through a 0600 file named in ``GIT_SSH_COMMAND`` and removed after the call. No argument
carries a secret, and an error message is git's last line with any URL userinfo masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.errors import ExternalCommandError, InvalidInputError, NodeUnreachableError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

#: Longest one git call may run (a fetch of a large repository included).
GIT_TIMEOUT_S = 120.0
#: Most bytes read from a call's stdout (``ls-remote`` of a repository with many refs).
MAX_OUTPUT_BYTES = 8 * 1024 * 1024
_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'printf "username=%s\\npassword=%s\\n" '
    '"$FLEETDECK_GIT_USERNAME" "$FLEETDECK_GIT_PASSWORD"; }; f'
)
_USERINFO = re.compile(r"(\w+://)[^/@\s]+@")
_SCP_LIKE = re.compile(
    r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*$|^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.*$"
)
_SHA = re.compile(r"^[0-9a-f]{40}$")
#: What an unreachable or refusing remote says (so the error kind says so too).
_UNREACHABLE = ("could not resolve host", "connection refused", "timed out", "no route to host",
                "failed to connect", "could not read from remote", "connection reset")  # fmt: skip
_AUTH = ("authentication failed", "permission denied", "403", "401", "could not read username")


def is_sha(text: str) -> bool:
    """Whether ``text`` is a full commit id (40 lower-case hex digits)."""
    return bool(_SHA.match(text))


def mask(text: str) -> str:
    """``text`` with the userinfo of any URL in it replaced by ``***``."""
    return _USERINFO.sub(r"\1***@", text)


def check_url(url: str) -> str:
    """A repository URL fleetdeck will fetch: https, http, ssh or ``user@host:path``.

    No userinfo in an http(s) URL (credentials go in the token, stored sealed), no local
    paths or other transports.
    """
    if len(url) > 512 or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidInputError("a repository URL is at most 512 characters, without spaces")
    if url.startswith(("https://", "http://")):
        if "@" in url.split("/", 3)[2]:
            raise InvalidInputError(
                "put no credentials in the repository URL",
                hint="give the token with --token-stdin (it is stored encrypted)",
            )
        return url
    if url.startswith("ssh://") or _SCP_LIKE.match(url):
        return url
    raise InvalidInputError(
        f"unsupported repository URL {mask(url)!r}",
        hint="use https://, http:// (a LAN server), ssh:// or git@host:path",
    )


def transport_of(url: str) -> str:
    """``http`` for http(s) URLs, else ``ssh``."""
    return "http" if url.startswith(("https://", "http://")) else "ssh"


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to a repository (either or neither)."""

    username: str | None = None
    token: str | None = None
    ssh_key: str | None = None


@dataclass(frozen=True)
class GitResult:
    """What a git call printed."""

    stdout: str
    stderr: str


class Git:
    """Runs git for one repository's calls with its credentials.

    Args:
        home: A directory of the server's own for git's ``HOME`` (no user config read).
        timeout: Seconds a call may take.
    """

    def __init__(self, home: Path, timeout: float = GIT_TIMEOUT_S) -> None:
        self.home = home
        self.timeout = timeout

    def _env(self, creds: Credentials, key_file: str | None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_ALLOW_PROTOCOL": "https:http:ssh",
            "GIT_ASKPASS": "/bin/false",
            "SSH_ASKPASS": "/bin/false",
        }
        if creds.token is not None:
            env["FLEETDECK_GIT_USERNAME"] = creds.username or "x-access-token"
            env["FLEETDECK_GIT_PASSWORD"] = creds.token
        known_hosts = self.home / "known_hosts"
        ssh = [
            "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "ConnectTimeout=15",
        ]  # fmt: skip
        if key_file is not None:
            ssh += ["-o", "IdentitiesOnly=yes", "-i", key_file]
        env["GIT_SSH_COMMAND"] = " ".join(ssh)
        return env

    async def run(
        self, args: Sequence[str], *, cwd: Path | None = None, creds: Credentials | None = None,
        what: str = "git",
    ) -> GitResult:  # fmt: skip
        """Run ``git ARGS`` (never with a secret in ``args``); ExternalCommandError on failure.

        A remote that cannot be reached is a NodeUnreachableError; refused credentials a
        PermissionDenied-like ExternalCommandError with git's reason.
        """
        creds = creds or Credentials()
        self.home.mkdir(parents=True, exist_ok=True)
        with _key_file(creds.ssh_key, self.home) as key_file:
            argv = [
                "git", "-c", "credential.helper=", "-c", f"credential.helper={_HELPER}",
                "-c", "core.askPass=/bin/false", "-c", "protocol.file.allow=never", *args,
            ]  # fmt: skip
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=str(cwd) if cwd else None, env=self._env(creds, key_file),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True,
            )  # fmt: skip
            try:
                out, err = await asyncio.wait_for(_bounded(proc), self.timeout)
            except TimeoutError:
                _kill(proc)
                await proc.wait()
                raise NodeUnreachableError(
                    f"{what}: git did not finish within {self.timeout:.0f} s"
                ) from None
            except _TooMuch:
                _kill(proc)
                await proc.wait()
                raise ExternalCommandError(f"{what}: git printed more than allowed") from None
            except BaseException:
                _kill(proc)
                with contextlib.suppress(Exception):
                    await proc.wait()
                raise
        stderr = err.decode(errors="replace")
        if proc.returncode != 0:
            raise _error(what, stderr)
        return GitResult(out.decode(errors="replace"), stderr)


class _TooMuch(Exception):
    pass


async def _bounded(proc: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
    assert proc.stdout is not None and proc.stderr is not None  # noqa: S101 - PIPEs above

    async def read(stream: asyncio.StreamReader, limit: int) -> bytes:
        chunks, size = [], 0
        while chunk := await stream.read(65536):
            size += len(chunk)
            if size > limit:
                raise _TooMuch
            chunks.append(chunk)
        return b"".join(chunks)

    out, err = await asyncio.gather(read(proc.stdout, MAX_OUTPUT_BYTES), read(proc.stderr, 1 << 20))
    await proc.wait()
    return out, err


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 9)


def _error(what: str, stderr: str) -> ExternalCommandError | NodeUnreachableError:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = [line for line in lines if line.lower().startswith(("fatal:", "error:"))]
    reason = mask((fatal or lines or ["git failed"])[-1])[:300]
    low = stderr.lower()
    if any(word in low for word in _AUTH):
        return ExternalCommandError(
            f"{what}: the repository refused the credentials ({reason})",
            hint="check the token or deploy key: fleetdeck repos add NAME URL --token-stdin",
        )
    if any(word in low for word in _UNREACHABLE):
        return NodeUnreachableError(f"{what}: the repository cannot be reached ({reason})")
    return ExternalCommandError(f"{what}: {reason}")


@contextlib.contextmanager
def _key_file(key: str | None, home: Path) -> Iterator[str | None]:
    if key is None:
        yield None
        return
    fd, name = tempfile.mkstemp(prefix="key-", dir=home)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key if key.endswith("\n") else key + "\n")
        os.chmod(name, 0o600)
        yield name
    finally:
        with contextlib.suppress(OSError):
            Path(name).unlink()
