"""Volume backups on the node: restic in a short-lived helper container next to the volume.

Why a helper container (and not restic run by the agent over the volume's mount point): the
server cannot reach a node's volumes, and the agent itself may run in a container without the
engine's data root, without root, or against a rootless engine — but the engine can always
mount its own volume into a container. The helper gets exactly two mounts, the volume (at
``/data``, read-only for a backup) and, for a directory target, that directory (at
``/repo``); never the Docker socket, no privileges, no capabilities, no network for a
directory target (the engine's default bridge for an S3 or SFTP target, which is reached over
the network). restic's passphrase, an S3 target's keys and an SFTP target's known_hosts and
SSH key (or password) are copied into the created container as 0600 files before it starts, so
they are not in its configuration (``docker inspect``) nor in any argv, and leave with the
container, which is removed whatever happens. For SFTP the helper's ``ssh`` (the image must
have one) is run by restic with a command fixed here: the host key pinned by the given
known_hosts only (``StrictHostKeyChecking=yes``), no config file, no agent.

One explicit operation (``POST /v1/volumes/{name}/restic``), not a socket proxy: the body
chooses one of three scripts (backup, restore, forget); everything else in the helper's
configuration is fixed here.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shlex
import struct
import tarfile
import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fleetdeck.agent.api_support import ENGINE, read_body
from fleetdeck.errors import ConflictError, InvalidInputError, NotFoundError
from fleetdeck.wire.volume_backups import (
    HELPER_LABEL,
    VOLUME_NAME,
    ResticJobBody,
    ResticJobResult,
)

if TYPE_CHECKING:
    from fleetdeck.agent.docker_api import DockerAPI

#: Where the secrets file is copied in the helper (read, then removed, by the script).
SECRETS_DIR = "/tmp"  # noqa: S108 - inside the helper container, private to it
SECRETS_FILE = "fleetdeck-restic.env"
#: Most of the helper's output kept (restic's JSON summary is the last stdout line).
MAX_OUTPUT_BYTES = 4 * 1024 * 1024
#: Most of its stderr quoted back.
MAX_STDERR_CHARS = 2000
#: The only secret names a job may set.
SECRET_NAMES = frozenset(
    {
        "RESTIC_PASSWORD",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "SSH_KNOWN_HOSTS",
        "SSH_KEY",
        "SSH_PASSWORD",
    }
)
#: The SFTP secrets that become files of their own in the helper (name: file, mode).
SSH_FILES = {
    "SSH_KNOWN_HOSTS": ("fleetdeck-known_hosts", 0o600),
    "SSH_KEY": ("fleetdeck-ssh-key", 0o600),
}
ASKPASS_FILE = "fleetdeck-askpass"
_ASKPASS = '#!/bin/sh\nprintf "%s\\n" "$FLEETDECK_SFTP_PASSWORD"\n'
#: How long ssh waits for the SFTP server before the target counts as unreachable.
SSH_CONNECT_TIMEOUT_S = 10
_VOLUME = re.compile(VOLUME_NAME)

_PRELUDE = (
    f"set -a; . {SECRETS_DIR}/{SECRETS_FILE}; set +a; rm -f {SECRETS_DIR}/{SECRETS_FILE}; "
    "export RESTIC_CACHE_DIR=/tmp/restic-cache; "
)


def _ensure(restic: str) -> str:
    """Create the repository when there is none (a wrong passphrase is said, never re-inited)."""
    return (
        f"if ! {restic} cat config >/dev/null 2>/tmp/err; then "
        "if grep -qiE 'wrong password|no key found' /tmp/err; then cat /tmp/err >&2; exit 1; fi; "
        f"{restic} init >/dev/null || exit 1; fi; "
    )


def _ssh_command(body: ResticJobBody) -> str:
    """The ``ssh`` restic runs for an SFTP target: fixed options, the secrets' file paths."""
    assert body.sftp is not None  # noqa: S101 - only called for an SFTP job
    known = f"{SECRETS_DIR}/{SSH_FILES['SSH_KNOWN_HOSTS'][0]}"
    argv = [
        "ssh", "-F", "/dev/null", "-p", str(body.sftp.port),
        "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", f"ConnectTimeout={SSH_CONNECT_TIMEOUT_S}",
        "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3",
    ]  # fmt: skip
    if "SSH_KEY" in body.secrets:
        argv += ["-i", f"{SECRETS_DIR}/{SSH_FILES['SSH_KEY'][0]}", "-o", "IdentitiesOnly=yes"]
        argv += ["-o", "BatchMode=yes", "-o", "PasswordAuthentication=no"]
    else:
        argv += ["-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1"]
    argv += [f"{body.sftp.user}@{body.sftp.host}", "-s", "sftp"]
    return shlex.join(argv)


def _check_sftp(body: ResticJobBody) -> None:
    if body.sftp is None:
        if set(body.secrets) & {"SSH_KNOWN_HOSTS", "SSH_KEY", "SSH_PASSWORD"}:
            raise InvalidInputError("SSH secrets go with an SFTP target (sftp)")
        return
    if body.directory is not None:
        raise InvalidInputError("a job has a directory or an SFTP target, not both")
    if not body.repository.startswith("sftp:"):
        raise InvalidInputError("an SFTP job's repository is sftp:USER@HOST:PATH")
    if not body.secrets.get("SSH_KNOWN_HOSTS", "").strip():
        raise InvalidInputError("an SFTP job needs the server's known_hosts line")
    if not body.secrets.get("SSH_KEY") and not body.secrets.get("SSH_PASSWORD"):
        raise InvalidInputError("an SFTP job needs an SSH key or a password")


def _script(body: ResticJobBody) -> str:
    """The helper's shell script for ``body`` (every value from the body quoted)."""
    _check_sftp(body)
    tags = " ".join(f"--tag {shlex.quote(t)}" for t in body.tags)
    prelude = _PRELUDE + f"export RESTIC_REPOSITORY={shlex.quote(body.repository)}; "
    restic = "restic"
    if body.sftp is not None:
        restic += " -o " + shlex.quote(f"sftp.command={_ssh_command(body)}")
    if body.op == "backup":
        return (
            prelude + _ensure(restic) + f"exec {restic} backup /data --json "
            f"--host {shlex.quote(body.host)} {tags}"
        )
    if body.op == "forget":
        return (
            prelude + f"exec {restic} forget {tags} --group-by tags "
            f"--keep-last {int(body.keep_last or 1)} --prune --json"
        )
    if body.snapshot is None:
        raise InvalidInputError("a restore needs a snapshot")
    wipe = "find /data -mindepth 1 -maxdepth 1 -exec rm -rf {} +; " if body.replace else ""
    refuse = (
        "if [ -n \"$(ls -A /data)\" ]; then echo 'fleetdeck: the volume is not empty' >&2; "
        "exit 3; fi; "
    )
    return (
        prelude
        + wipe
        + refuse
        + f"exec {restic} restore {shlex.quote(body.snapshot)} --target / --verify"
    )


def _secrets_tar(secrets: dict[str, str]) -> bytes:
    """The secrets as files: an env file, and the SFTP known_hosts, key and askpass."""
    unknown = set(secrets) - SECRET_NAMES
    if unknown:
        raise InvalidInputError(f"unknown restic secret(s): {', '.join(sorted(unknown))}")
    files: dict[str, tuple[bytes, int]] = {}
    env = {k: v for k, v in secrets.items() if k not in SSH_FILES and k != "SSH_PASSWORD"}
    for key, (name, mode) in SSH_FILES.items():
        if key in secrets:
            files[name] = ((secrets[key].strip() + "\n").encode(), mode)
    if "SSH_PASSWORD" in secrets:
        files[ASKPASS_FILE] = (_ASKPASS.encode(), 0o700)
        env |= {
            "FLEETDECK_SFTP_PASSWORD": secrets["SSH_PASSWORD"],
            "SSH_ASKPASS": f"{SECRETS_DIR}/{ASKPASS_FILE}",
            "SSH_ASKPASS_REQUIRE": "force",
            "DISPLAY": "none",
        }
    text = "".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(env.items()))
    files[SECRETS_FILE] = (text.encode(), 0o600)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _demux(raw: bytes) -> tuple[bytes, bytes]:
    """Docker's multiplexed log stream (8-byte frame headers) as (stdout, stderr)."""
    out, err, pos = bytearray(), bytearray(), 0
    while pos + 8 <= len(raw):
        stream, size = raw[pos], struct.unpack(">I", raw[pos + 4 : pos + 8])[0]
        chunk = raw[pos + 8 : pos + 8 + size]
        (err if stream == 2 else out).extend(chunk)
        pos += 8 + size
    return bytes(out), bytes(err)


def _summary(stdout: bytes) -> dict[str, Any] | None:
    for line in reversed(stdout.decode(errors="replace").splitlines()):
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(message, dict) and message.get("message_type") == "summary":
            return message
    return None


def _removed(stdout: bytes) -> list[str]:
    text = stdout.decode(errors="replace").strip().splitlines()
    try:
        groups = json.loads(text[0]) if text else []
    except json.JSONDecodeError:
        return []
    return [str(s.get("id")) for g in groups or [] for s in g.get("remove") or []]


def _helper_config(volume: str, body: ResticJobBody) -> dict[str, Any]:
    mounts: list[dict[str, Any]] = [
        {"Type": "volume", "Source": volume, "Target": "/data", "ReadOnly": body.op != "restore"}
    ]
    network = "none"
    if body.directory is not None:
        mounts.append({"Type": "bind", "Source": body.directory, "Target": "/repo"})
    else:
        network = "bridge"  # an S3 or SFTP target is reached over the network
    return {
        "Image": body.image,
        "Entrypoint": ["/bin/sh", "-c"],
        "Cmd": [_script(body)],
        "User": "0:0",
        "Labels": {HELPER_LABEL: "volume-backup"},
        "HostConfig": {
            "Mounts": mounts,
            "NetworkMode": network,
            "CapDrop": ["ALL"],
            "CapAdd": ["DAC_READ_SEARCH", "CHOWN", "FOWNER", "DAC_OVERRIDE"],
            "SecurityOpt": ["no-new-privileges"],
        },
    }


async def run_job(engine: DockerAPI, volume: str, body: ResticJobBody) -> ResticJobResult:
    """Run one restic job next to ``volume`` in a helper container; its outcome.

    Raises:
        InvalidInputError: A bad volume name or directory.
        NotFoundError: No such volume (backup), or the helper image is not on the node.
    """
    if not _VOLUME.match(volume):
        raise InvalidInputError(f"invalid volume name {volume!r}")
    if body.directory is not None and (
        not body.directory.startswith("/") or os.path.normpath(body.directory) != body.directory
    ):
        raise InvalidInputError(f"{body.directory!r} is not a normal absolute directory")
    _check_sftp(body)
    try:
        await engine.request("GET", f"images/{body.image}/json")
    except NotFoundError:
        raise NotFoundError(
            f"the volume backup image {body.image} is not on this node",
            hint="build or load it on the node (docs/disaster-recovery.md, 'The helper image')",
        ) from None
    created = False
    try:
        await engine.request("GET", f"volumes/{volume}")
    except NotFoundError:
        if body.op != "restore" or not body.create:
            raise NotFoundError(f"no volume {volume!r} on this node") from None
        await engine.request("POST", "volumes/create", body={"Name": volume, "Driver": "local"})
        created = True
    name = f"fleetdeck-volbackup-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    answer = await engine.request(
        "POST", "containers/create", params={"name": name}, body=_helper_config(volume, body)
    )
    cid = str(answer["Id"])
    try:
        async with engine.stream(
            "PUT", f"containers/{cid}/archive", params={"path": SECRETS_DIR},
            body=_secrets_tar(body.secrets), headers={"Content-Type": "application/x-tar"},
        ):  # fmt: skip
            pass
        await engine.request("POST", f"containers/{cid}/start")
        exit_code = await asyncio.wait_for(_wait(engine, cid), timeout=body.timeout_s)
        stdout, stderr = await _logs(engine, cid)
    finally:
        await engine.request("DELETE", f"containers/{cid}", params={"force": True, "v": False})
    if exit_code == 3 and body.op == "restore":
        raise ConflictError(
            f"volume {volume} is not empty", hint="restore into a new volume, or replace its data"
        )
    return ResticJobResult(
        exit_code=exit_code,
        summary=_summary(stdout) if body.op == "backup" else None,
        removed=_removed(stdout) if body.op == "forget" and exit_code == 0 else [],
        stderr=stderr.decode(errors="replace")[-MAX_STDERR_CHARS:],
        duration_s=time.monotonic() - started,
        created=created,
    )


async def _wait(engine: DockerAPI, cid: str) -> int:
    async with engine.stream("POST", f"containers/{cid}/wait") as response:
        answer = json.loads(await response.read() or b"{}")
    return int(answer.get("StatusCode", -1))


async def _logs(engine: DockerAPI, cid: str) -> tuple[bytes, bytes]:
    params = {"stdout": "1", "stderr": "1", "tail": "2000"}
    async with engine.stream("GET", f"containers/{cid}/logs", params=params) as response:
        raw = bytearray()
        async for chunk in response.content.iter_chunked(65536):
            raw.extend(chunk)
            if len(raw) > MAX_OUTPUT_BYTES:
                break
    return _demux(bytes(raw))


async def restic_job(request: web.Request) -> web.Response:
    """``POST /v1/volumes/{name}/restic``: a :class:`ResticJobResult`."""
    body = await read_body(request, ResticJobBody)
    result = await run_job(request.app[ENGINE], request.match_info["name"], body)
    return web.json_response(result.model_dump(mode="json"))


def add_routes(app: web.Application) -> None:
    """Register the volume backup route."""
    app.router.add_post("/v1/volumes/{name}/restic", restic_job)
