"""The one-shot helper that moves a container agent to a new image, or puts the old one back.

A container agent cannot recreate itself (stopping it would stop the recreate), so
:func:`start_helper` starts a helper container of the agent's own image (the build known to
work) with the engine's socket and the agent's ``/data`` volume, which runs
``python -m fleetdeck.agent.swap ARGS``::

    fetch the server's image tarball (CA-pinned, SHA-256 against the manifest), docker load
    stop NAME, rename it NAME.fd-previous (kept)  ->  create and start NAME from the new image
    wait for NAME's port (up to the timeout)
      up:      remove NAME.fd-previous
      not up:  remove the new NAME, rename NAME.fd-previous back to NAME, start it

Each step is decided by the names present, so a helper that is killed (a host reboot) and
started again (restart policy ``on-failure``) carries on where it was: a ``NAME.fd-previous``
present means the new container was started and is judged again; the undo is idempotent.
The suffix is not the recreate's (``.fd-old``), so the new agent's own start-up clean-up
(:func:`fleetdeck.agent.engine_recreate.converge_all`) never removes the old container the
helper may still need.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import ssl
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetdeck.agent.engine_recreate import recreate_body
from fleetdeck.agent.engine_stacks import create_container
from fleetdeck.agent.settings import parse_listen
from fleetdeck.errors import ConflictError, FleetdeckError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from fleetdeck.agent.engine import Engine
    from fleetdeck.wire.agent import UpgradeBody

log = logging.getLogger("fleetdeck.agent.swap")

PREVIOUS_SUFFIX = ".fd-previous"
HELPER_SUFFIX = ".fd-upgrade"
SOCKET = "/var/run/docker.sock"
#: Seconds a new agent must stay up after its port opened to count as back.
STEADY_S = 3.0
#: Seconds the old container gets to stop.
STOP_TIMEOUT_S = 10
TARBALL = "fleetdeck-agent-image.tar"
MAX_TARBALL_BYTES = 4 * 1024**3


async def _inspect_or_none(engine: Engine, ref: str) -> dict[str, Any] | None:
    try:
        return await engine.inspect_container(ref)
    except NotFoundError:
        return None


def _name(inspect: dict[str, Any]) -> str:
    return str(inspect.get("Name") or "").lstrip("/")


def _env_value(inspect: dict[str, Any], key: str) -> str | None:
    for item in (inspect.get("Config") or {}).get("Env") or []:
        name, _, value = str(item).partition("=")
        if name == key:
            return value
    return None


def helper_body(agent: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """The helper container: the agent's image, socket and state mounts, host network."""
    state_dir = _env_value(agent, "FLEETDECK_AGENT_STATE_DIR") or "/data"
    mounts = []
    for mount in agent.get("Mounts") or []:
        if mount.get("Destination") not in (SOCKET, state_dir):
            continue
        source = mount.get("Name") if mount.get("Type") == "volume" else mount.get("Source")
        mounts.append({"Type": mount.get("Type"), "Source": source, "Target": mount["Destination"]})
    if not any(m["Target"] == SOCKET for m in mounts):
        raise ConflictError(f"the agent container has no {SOCKET} mounted: cannot upgrade it")
    docker_host = _env_value(agent, "DOCKER_HOST") or f"unix://{SOCKET}"
    return {
        "Image": agent["Image"],
        "Entrypoint": ["python", "-m", "fleetdeck.agent.swap"],
        "Cmd": [json.dumps(args)],
        "Env": [f"DOCKER_HOST={docker_host}", "PYTHONUNBUFFERED=1"],
        "Labels": {"org.fleetdeck.upgrade-of": _name(agent)},
        "Healthcheck": {"Test": ["NONE"]},
        "HostConfig": {
            "NetworkMode": "host",
            "Mounts": mounts,
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
        },
    }


async def start_helper(engine: Engine, container_id: str, body: UpgradeBody) -> dict[str, Any]:
    """Start the helper that swaps this agent's container (see the module docstring)."""
    agent = await engine.inspect_container(container_id)
    name = _name(agent)
    server = body.server or _env_value(agent, "FLEETDECK_SERVER")
    if not server:
        raise InvalidInputError("the upgrade names no server to fetch the image from")
    state_dir = _env_value(agent, "FLEETDECK_AGENT_STATE_DIR") or "/data"
    ca = str(Path(state_dir) / "ca.pem")
    # Checked before anything starts: the server serves an image at all.
    manifest = await asyncio.to_thread(_manifest, server, ca)
    if not manifest.get("image"):
        raise NotFoundError(
            "the server has no agent image tarball for a container agent",
            hint="on the server: fleetdeck server agent-dist --image TARBALL (docker save)",
        )
    helper = name + HELPER_SUFFIX
    old = await _inspect_or_none(engine, helper)
    if old is not None:
        if (old.get("State") or {}).get("Running"):
            raise ConflictError(f"an upgrade of this agent is running already ({helper})")
        await engine.remove_container(old["Id"], force=True, volumes=False)
    listen = _env_value(agent, "FLEETDECK_AGENT_LISTEN") or "0.0.0.0:9001"  # noqa: S104
    args = {
        "container": name,
        "old_id": agent["Id"],
        "server": server,
        "ca": ca,
        "timeout": body.timeout_seconds,
        "port": parse_listen(listen)[1],
    }
    helper_id = await create_container(engine, helper, helper_body(agent, args), {})
    await engine.container_action(helper_id, "start")
    return {"mode": "container", "runner": helper, "version": manifest.get("version")}


# ------------------------------------------------------------------ in the helper
def _context(ca: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca)


def _manifest(server: str, ca: str) -> dict[str, Any]:
    import httpx

    try:
        answer = httpx.get(f"{server}/install/manifest.json", verify=_context(ca), timeout=30)
    except (httpx.HTTPError, OSError) as exc:
        raise NotFoundError(f"cannot reach the server at {server}: {exc}") from exc
    if answer.status_code != 200:
        raise NotFoundError(f"the server serves no agent distribution ({answer.status_code})")
    data: dict[str, Any] = answer.json()
    return data


def _download(server: str, ca: str, target: Path, sha256: str) -> None:
    """The tarball into ``target``, checked against the manifest's SHA-256."""
    import httpx

    digest, size = hashlib.sha256(), 0
    with (
        httpx.stream("GET", f"{server}/install/{TARBALL}", verify=_context(ca), timeout=600) as r,
        target.open("wb") as out,
    ):
        if r.status_code != 200:
            raise NotFoundError(f"the server has no agent image tarball ({r.status_code})")
        for chunk in r.iter_bytes(1024 * 1024):
            size += len(chunk)
            if size > MAX_TARBALL_BYTES:
                raise InvalidInputError("the agent image tarball is larger than 4 GiB")
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        raise InvalidInputError("the downloaded image tarball does not match the manifest")


async def _load(engine: Engine, tarball: Path) -> str:
    """``docker load`` the tarball; the image it names (a tag, else its id)."""
    with tarball.open("rb") as data:
        async with engine.stream(
            "POST", "images/load", params={"quiet": "1"}, body=data,
            headers={"Content-Type": "application/x-tar"},
        ) as response:  # fmt: skip
            text = await response.text()
    loaded = None
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if item.get("error"):
            raise InvalidInputError(f"docker load failed: {item['error']}")
        stream = str(item.get("stream") or "")
        for prefix in ("Loaded image: ", "Loaded image ID: "):
            if stream.startswith(prefix):
                loaded = stream.removeprefix(prefix).strip()
    if not loaded:
        raise InvalidInputError(f"docker load named no image: {text[:200]!r}")
    return loaded


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


async def _came_back(engine: Engine, container: str, port: int, timeout: float) -> bool:
    """Whether the new container runs and serves its port, steadily, within ``timeout``."""
    deadline = time.monotonic() + timeout
    up_since: float | None = None
    restarts: int | None = None
    while time.monotonic() < deadline:
        current = await _inspect_or_none(engine, container)
        state = (current or {}).get("State") or {}
        count = (current or {}).get("RestartCount")
        if not state.get("Running") or (restarts is not None and count != restarts):
            up_since = None
        elif await asyncio.to_thread(_port_open, port):
            up_since = up_since or time.monotonic()
            if time.monotonic() - up_since >= STEADY_S:
                return True
        restarts = count
        await asyncio.sleep(0.5)
    return False


async def _undo(engine: Engine, name: str, previous: dict[str, Any]) -> None:
    current = await _inspect_or_none(engine, name)
    if current is not None and current["Id"] != previous["Id"]:
        await engine.remove_container(current["Id"], force=True, volumes=False)
    if _name(previous) != name:
        await engine.rename_container(previous["Id"], name)
    await engine.container_action(previous["Id"], "start")


async def _judge(engine: Engine, args: dict[str, Any], previous: dict[str, Any]) -> str:
    name = str(args["container"])
    if await _came_back(engine, name, int(args["port"]), float(args["timeout"])):
        await engine.remove_container(previous["Id"], force=True, volumes=False)
        log.info("the new agent is up: removed the previous container")
        return "moved"
    log.warning("the new agent did not come back within %ss: undoing", args["timeout"])
    await _undo(engine, name, previous)
    return "undone"


async def swap(engine: Engine, args: dict[str, Any]) -> str:
    """Move the agent container to the server's image, or put it back; the outcome."""
    name = str(args["container"])
    previous = await _inspect_or_none(engine, name + PREVIOUS_SUFFIX)
    if previous is not None:  # started again after an interruption: judge what is there
        log.warning("an interrupted upgrade of %s: judging the new container again", name)
        return await _judge(engine, args, previous)
    server, ca = str(args["server"]), str(args["ca"])
    manifest = await asyncio.to_thread(_manifest, server, ca)
    image = manifest.get("image") or {}
    if not image.get("sha256"):
        raise NotFoundError("the server has no agent image tarball")
    tarball = Path(ca).parent / f".{TARBALL}.part"
    try:
        await asyncio.to_thread(_download, server, ca, tarball, str(image["sha256"]))
        ref = await _load(engine, tarball)
    finally:
        tarball.unlink(missing_ok=True)
    old = await engine.inspect_container(str(args["old_id"]))
    new_image = await engine.request("GET", f"images/{ref}/json")
    if new_image.get("Id") == old.get("Image"):
        log.info("the agent runs that image already: nothing to do")
        return "unchanged"
    try:
        old_image = (await engine.request("GET", f"images/{old['Image']}/json")).get("Config")
    except NotFoundError:
        old_image = None
    body, _ = recreate_body(old, old_image)
    body["Image"] = ref
    # From here the old container is kept aside, stopped, until the new one proved itself.
    await engine.container_action(old["Id"], "stop", timeout=STOP_TIMEOUT_S)
    await engine.rename_container(old["Id"], name + PREVIOUS_SUFFIX)
    previous = await engine.inspect_container(old["Id"])
    try:
        new_id = await create_container(engine, name, body, {})
        await engine.container_action(new_id, "start")
    except FleetdeckError as exc:
        log.warning("the new agent container did not start (%s): undoing", exc.message)
        await _undo(engine, name, previous)
        return "undone"
    return await _judge(engine, args, previous)


async def _main(args: dict[str, Any]) -> str:
    from fleetdeck.agent.engine import Engine

    engine = Engine(os.environ.get("DOCKER_HOST", f"unix://{SOCKET}"))
    try:
        return await swap(engine, args)
    finally:
        await engine.close()


def main(argv: list[str]) -> int:
    """``python -m fleetdeck.agent.swap ARGS_JSON``: 0 once decided, 1 on a refusal before."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if len(argv) != 1 or len(argv[0]) > 4096:
        print("usage: python -m fleetdeck.agent.swap ARGS_JSON", file=sys.stderr)
        return 2
    try:
        args = json.loads(argv[0])
        outcome = asyncio.run(_main(args))
    except FleetdeckError as exc:
        # Nothing was changed (every step that changes something decides, then returns).
        print(f"fleetdeck-agent upgrade: error: {exc.message}", file=sys.stderr)
        return 0
    print(f"fleetdeck-agent upgrade: {outcome}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
