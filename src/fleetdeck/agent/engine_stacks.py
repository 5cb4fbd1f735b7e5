"""Engine operations a stack deploy needs on a plain host, each one explicit.

The server's host applier drives these through the agent's ``/v1/stacks/…`` routes: create a
container from a full Engine API body, (re)connect it to networks with chosen aliases while
keeping its address, resolve image digests (locally and in the registry, without pulling),
build an image from an uploaded context, and list what a Compose project owns. Secret and
config files are written under a tmpfs directory of the agent and bind-mounted read-only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fleetdeck.labels
from fleetdeck.agent.engine_resources import qualify_reference, registry_auth_header
from fleetdeck.errors import FleetdeckError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fleetdeck.agent.engine import Engine

PROJECT_LABEL = fleetdeck.labels.COMPOSE_PROJECT
#: Where stack secret and config files live on the host: tmpfs, so secrets never touch a disk.
FILES_ROOT = Path(os.environ.get("FLEETDECK_AGENT_FILES_DIR", "/run/fleetdeck/stack-files"))
_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _safe(part: str, what: str) -> str:
    if not part or part.startswith(".") or not set(part) <= _NAME_OK:
        raise InvalidInputError(f"invalid {what} {part!r}")
    return part


def files_dir(engine: Engine, stack: str) -> Path:
    """The host directory of one stack's files (one tree per engine: labs share a host)."""
    engine_key = hashlib.sha256(engine.docker_host.encode()).hexdigest()[:12]
    return FILES_ROOT / engine_key / _safe(stack, "stack name")


async def project_containers(engine: Engine, project: str) -> list[dict[str, Any]]:
    """Full inspects of every container labelled with the Compose ``project``."""
    filters = {"label": [f"{PROJECT_LABEL}={project}"]}
    summaries: list[dict[str, Any]] = await engine.request(
        "GET", "containers/json", params={"all": True, "filters": json.dumps(filters)}
    )

    async def inspect(cid: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await engine.request("GET", f"containers/{cid}/json")
        except NotFoundError:
            return None
        return result

    found = await asyncio.gather(*(inspect(s["Id"]) for s in summaries))
    return [item for item in found if item is not None]


async def project_resources(engine: Engine, project: str) -> dict[str, Any]:
    """The project's networks and volumes (by Compose label)."""
    filters = json.dumps({"label": [f"{PROJECT_LABEL}={project}"]})
    networks = await engine.request("GET", "networks", params={"filters": filters})
    volumes = await engine.request("GET", "volumes", params={"filters": filters})
    return {"networks": networks, "volumes": volumes.get("Volumes") or []}


async def create_container(
    engine: Engine, name: str, config: dict[str, Any], networks: Mapping[str, Any]
) -> str:
    """Create a container from an Engine API body, then join its other networks.

    The engine accepts one network at create time (API 1.41); the others are connected
    before the container starts, each with its own aliases.
    """
    created = await engine.request("POST", "containers/create", params={"name": name}, body=config)
    cid: str = created["Id"]
    try:
        for network, endpoint in networks.items():
            body = {"Container": cid, "EndpointConfig": endpoint}
            await engine.request("POST", f"networks/{network}/connect", body=body)
    except FleetdeckError:
        await engine.request("DELETE", f"containers/{cid}", params={"force": True})
        raise
    return cid


async def reconnect(
    engine: Engine, network: str, container: str, aliases: list[str], keep_address: bool
) -> None:
    """Reconnect a container to a network with new aliases, keeping its address if it can.

    Docker has no call to change an endpoint's aliases: this disconnects and connects again.
    With ``keep_address`` (a network with a configured subnet) the container gets its
    address back at once, so open connections survive the moment between the two calls.
    """
    inspect = await engine.request("GET", f"containers/{container}/json")
    endpoint = ((inspect.get("NetworkSettings") or {}).get("Networks") or {}).get(network)
    config: dict[str, Any] = {"Aliases": aliases}
    if endpoint is not None:
        address = endpoint.get("IPAddress")
        if keep_address and address:
            config["IPAMConfig"] = {"IPv4Address": address}
        await engine.request(
            "POST", f"networks/{network}/disconnect", body={"Container": container, "Force": True}
        )
    path = f"networks/{network}/connect"
    try:
        await engine.request("POST", path, body={"Container": container, "EndpointConfig": config})
    except FleetdeckError:
        if "IPAMConfig" not in config:
            raise
        # A network without a configured subnet cannot take a chosen address: any will do.
        body = {"Container": container, "EndpointConfig": {"Aliases": aliases}}
        await engine.request("POST", path, body=body)


async def create_network(engine: Engine, body: dict[str, Any]) -> dict[str, Any]:
    """Create a network; a bridge without an explicit subnet gets the one Docker picks, pinned.

    Pinning the subnet (create, read, re-create with that subnet) lets containers be
    reconnected with their own address (see :func:`reconnect`), which keeps requests in
    flight alive while a replica leaves the service's DNS name.
    """
    name = body["Name"]
    driver = body.get("Driver") or "bridge"
    ipam = body.get("IPAM") or {}
    if driver == "bridge" and not ipam.get("Config"):
        probe = await engine.request(
            "POST", "networks/create", body={**body, "CheckDuplicate": True}
        )
        info = await engine.request("GET", f"networks/{probe['Id']}")
        config = [
            {k: v for k, v in item.items() if k in ("Subnet", "Gateway")}
            for item in (info.get("IPAM") or {}).get("Config") or []
        ]
        await engine.request("DELETE", f"networks/{probe['Id']}")
        body = {**body, "IPAM": {"Driver": "default", "Config": config}}
    created = await engine.request(
        "POST", "networks/create", body={**body, "Name": name, "CheckDuplicate": True}
    )
    result: dict[str, Any] = await engine.request("GET", f"networks/{created['Id']}")
    return result


async def image_inspect(engine: Engine, ref: str) -> dict[str, Any]:
    """``{id, repo_digests, repo_tags, user, config}`` of a local image, or NotFoundError.

    ``user`` is the image's own ``USER`` (``""`` when it sets none): the hardening report's
    ``root-user`` rule needs it for services whose file sets no ``user:``. ``config`` holds
    the defaults it gives a container (env, command, labels): a duplicated container's form
    leaves those out.
    """
    raw = await engine.request("GET", f"images/{ref}/json")
    config = raw.get("Config") or {}
    return {
        "config": {k: config.get(k) for k in ("Env", "Cmd", "Entrypoint", "Labels")},
        "id": raw.get("Id"),
        "repo_digests": raw.get("RepoDigests") or [],
        "repo_tags": raw.get("RepoTags") or [],
        "user": str((raw.get("Config") or {}).get("User") or ""),
    }


async def registry_digest(engine: Engine, ref: str, auth: Mapping[str, str] | None) -> str:
    """The manifest digest the registry holds for ``ref`` (nothing is pulled)."""
    headers = registry_auth_header(auth) if auth else None
    raw = await engine.request(
        "GET", f"distribution/{qualify_reference(ref)}/json", headers=headers
    )
    digest: str = (raw.get("Descriptor") or {}).get("digest") or ""
    if not digest:
        raise NotFoundError(f"the registry sent no digest for {ref}")
    return digest


async def build_image(
    engine: Engine, context_tar: bytes, tag: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Build an image from a tar context on this engine; ``{id, log}`` or the build's error."""
    query = {"t": tag, "rm": "true", "forcerm": "true", **params}
    headers = {"Content-Type": "application/x-tar"}
    lines: list[str] = []
    image_id = ""
    async with engine.stream(
        "POST", "build", params=query, body=context_tar, headers=headers
    ) as resp:
        with engine.errors():
            async for raw in resp.content:
                if not raw.strip():
                    continue
                item = json.loads(raw)
                if item.get("error"):
                    tail = " | ".join(lines[-3:])
                    raise InvalidInputError(f"building {tag} failed: {item['error']}", hint=tail)
                if "aux" in item and isinstance(item["aux"], dict):
                    image_id = item["aux"].get("ID", image_id)
                text = str(item.get("stream") or "").strip()
                if text:
                    lines.append(text)
    if not image_id:
        image_id = (await image_inspect(engine, tag))["id"]
    return {"id": image_id, "log": lines[-20:]}


def write_files(engine: Engine, stack: str, files: Mapping[str, bytes]) -> dict[str, str]:
    """Write a stack's secret/config files (0400, content-addressed names); return host paths.

    Files of the stack no longer asked for are removed, so a rotated secret's old value does
    not linger on the host.
    """
    root = files_dir(engine, stack)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths: dict[str, str] = {}
    for key, data in files.items():
        digest = hashlib.sha256(data).hexdigest()[:16]
        path = root / f"{_safe(key.replace(':', '-'), 'file key')}-{digest}"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            tmp.replace(path)
        paths[key] = str(path)
    return paths


def prune_files(engine: Engine, stack: str, keep: set[str]) -> None:
    """Remove the stack's files except ``keep`` (host paths); all of them when empty."""
    root = files_dir(engine, stack)
    if not root.exists():
        return
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
        return
    for path in root.iterdir():
        if str(path) not in keep:
            path.unlink(missing_ok=True)


def listening_ports() -> dict[str, list[int]]:
    """Host ports with a listener (TCP) or a bound socket (UDP), read from /proc/net."""
    result: dict[str, list[int]] = {"tcp": [], "udp": []}
    for proto, names in (("tcp", ("tcp", "tcp6")), ("udp", ("udp", "udp6"))):
        ports: set[int] = set()
        for name in names:
            try:
                text = Path(f"/proc/net/{name}").read_text()
            except OSError:
                continue
            for line in text.splitlines()[1:]:
                fields = line.split()
                if len(fields) < 4:
                    continue
                if proto == "tcp" and fields[3] != "0A":  # 0A: LISTEN
                    continue
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        result[proto] = sorted(ports)
    return result
