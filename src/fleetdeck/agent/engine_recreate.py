"""Recreate a container with the same configuration (optionally from a freshly pulled image).

What ``docker compose up --force-recreate`` does for one container, without a Compose file:
the new container is built from the old one's inspect document. Every step that can fail for
a reason of its own (the pull, the create, joining the other networks) happens before the old
container is touched, so a failure leaves it as it was. The swap is done with names only::

    create NAME.fd-new  ->  rename NAME to NAME.fd-old  ->  rename NAME.fd-new to NAME
    ->  stop NAME.fd-old  ->  start NAME  ->  remove NAME.fd-old

An agent that dies in the middle leaves one of a few states recognisable by those names;
:func:`converge` brings each to an end (backwards while the old container still holds the
name, forwards once the new one does). It runs before every recreate of a name and for every
name when the agent starts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import fleetdeck.labels
from fleetdeck.agent.engine_stacks import create_container
from fleetdeck.errors import ConflictError, FleetdeckError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fleetdeck.agent.engine import Engine

log = logging.getLogger("fleetdeck.agent.recreate")

NEW_SUFFIX = ".fd-new"
OLD_SUFFIX = ".fd-old"
#: Labels of containers that something else owns: recreating one behind its owner's back
#: would be undone (a Swarm task) or drift from the stack's revision (a fleetdeck stack).
SWARM_TASK_LABEL = fleetdeck.labels.SWARM_TASK_ID
STACK_REVISION_LABEL = fleetdeck.labels.FLEETDECK_REVISION
#: One recreate of a name at a time (a second one waits, then recreates the first's result).
_LOCKS: dict[tuple[str, str], asyncio.Lock] = {}
#: Config keys whose value an image supplies when the container does not set it.
_IMAGE_DEFAULTS = ("Cmd", "Entrypoint", "WorkingDir", "User", "StopSignal", "Healthcheck")


def _name(inspect: Mapping[str, Any]) -> str:
    return str(inspect.get("Name") or "").lstrip("/")


def refusal(inspect: Mapping[str, Any]) -> str | None:
    """Why this container must not be recreated here (None: it may)."""
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    if SWARM_TASK_LABEL in labels:
        return "it is a task of a Swarm service: update the service (or its stack) instead"
    if STACK_REVISION_LABEL in labels:
        return "it belongs to a fleetdeck stack: run `fleetdeck stack deploy` instead"
    if _name(inspect).endswith((NEW_SUFFIX, OLD_SUFFIX)):
        return "it is the leftover of an interrupted recreate: recreate the original name"
    return None


def _without_image_defaults(
    config: dict[str, Any], image: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The container's Config minus what its (old) image supplied, so a new image's applies.

    An inspect merges the image's defaults into Config: copied as they are, a new image's
    ``PATH``, ``CMD`` or labels would be hidden behind the old image's.
    """
    if image is None:
        return config
    out = dict(config)
    for key in _IMAGE_DEFAULTS:
        if key in out and out[key] == image.get(key):
            out.pop(key)
    image_env = set(image.get("Env") or [])
    out["Env"] = [e for e in out.get("Env") or [] if e not in image_env]
    image_labels = image.get("Labels") or {}
    out["Labels"] = {k: v for k, v in (out.get("Labels") or {}).items() if image_labels.get(k) != v}
    image_volumes = image.get("Volumes") or {}
    out["Volumes"] = {k: v for k, v in (out.get("Volumes") or {}).items() if k not in image_volumes}
    return out


def _links(links: list[str] | None) -> list[str] | None:
    """Inspect's ``/db:/web/alias`` links as create wants them (``db:alias``)."""
    if not links:
        return None
    out = []
    for link in links:
        source, _, target = link.partition(":")
        out.append(f"{source.lstrip('/')}:{target.rsplit('/', 1)[-1]}")
    return out


def _anonymous_mounts(inspect: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The old container's anonymous volumes, mounted by name so their data carries over."""
    host = inspect.get("HostConfig") or {}
    declared = {m.get("Target") for m in host.get("Mounts") or []}
    declared |= {b.split(":")[1] for b in host.get("Binds") or [] if b.count(":") >= 1}
    return [
        {"Type": "volume", "Source": m["Name"], "Target": m["Destination"]}
        for m in inspect.get("Mounts") or []
        if m.get("Type") == "volume" and m.get("Name") and m.get("Destination") not in declared
    ]


def _endpoint(endpoint: Mapping[str, Any], old_id: str) -> dict[str, Any]:
    aliases = [a for a in endpoint.get("Aliases") or [] if a != old_id[:12]]
    out: dict[str, Any] = {"Aliases": aliases or None}
    for key in ("IPAMConfig", "Links", "DriverOpts"):
        if endpoint.get(key):
            out[key] = endpoint[key]
    return out


def recreate_body(
    inspect: Mapping[str, Any], image_config: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the create body, the other networks to join) that reproduce ``inspect``'s container.

    ``image_config`` is the Config of the image the old container was created from (None if
    that image is gone: the container's Config is then copied whole).
    """
    old_id = str(inspect.get("Id") or "")
    config = _without_image_defaults(dict(inspect.get("Config") or {}), image_config)
    if config.get("Hostname") == old_id[:12]:
        config.pop("Hostname")  # Docker's default, the old id: the new one gets its own
    host = dict(inspect.get("HostConfig") or {})
    host["Links"] = _links(host.get("Links"))
    mounts = list(host.get("Mounts") or [])
    mounts += _anonymous_mounts(inspect)
    host["Mounts"] = mounts or None
    networks = dict((inspect.get("NetworkSettings") or {}).get("Networks") or {})
    mode = str(host.get("NetworkMode") or "default")
    primary = "bridge" if mode == "default" else mode
    body = {**config, "HostConfig": host}
    first = networks.pop(primary, None)
    if first is not None:
        body["NetworkingConfig"] = {"EndpointsConfig": {primary: _endpoint(first, old_id)}}
    others = {name: _endpoint(ep, old_id) for name, ep in networks.items()}
    if mode in ("host", "none") or mode.startswith("container:"):
        others = {}
    return body, others


async def pull_or_fail(engine: Engine, image: str, auth: Mapping[str, str] | None) -> None:
    """Pull ``image``; raise NotFoundError with the registry's words if it fails."""
    if image.startswith("sha256:"):
        raise InvalidInputError(
            f"the container was created from the image id {image[:19]}…, not a name: "
            "there is nothing to pull",
            hint="recreate it without --pull",
        )
    try:
        async with engine.pull_image(image, auth) as progress:
            async for event in progress:
                if event.get("error"):
                    raise NotFoundError(str(event["error"]))
    except FleetdeckError as exc:
        raise type(exc)(
            f"pulling {image} failed, nothing was changed: {exc.message}", hint=exc.hint
        ) from exc


async def _inspect_or_none(engine: Engine, ref: str) -> dict[str, Any] | None:
    try:
        return await engine.inspect_container(ref)
    except NotFoundError:
        return None


async def _remove(engine: Engine, ref: str) -> None:
    await engine.remove_container(ref, force=True, volumes=False)


async def converge(engine: Engine, name: str, timeout: int | None = None) -> None:
    """Finish (or undo) an interrupted recreate of ``name``; nothing if there is none.

    ``timeout``: seconds an old container gets to stop (None: its own stop timeout).
    """
    current, new, old = await asyncio.gather(
        _inspect_or_none(engine, name),
        _inspect_or_none(engine, name + NEW_SUFFIX),
        _inspect_or_none(engine, name + OLD_SUFFIX),
    )
    if old is not None and current is None:
        # Renamed away, the new one not yet in place: the old one was never stopped.
        log.warning("recreate of %s was interrupted: putting the old container back", name)
        await engine.rename_container(old["Id"], name)
        current, old = old, None
    if new is not None:
        log.warning("recreate of %s was interrupted: removing the unused new container", name)
        await _remove(engine, new["Id"])
    if old is not None and current is not None:
        # The new container holds the name: go forwards.
        log.warning("recreate of %s was interrupted: starting the new container", name)
        await _stop(engine, old["Id"], timeout)
        await engine.container_action(current["Id"], "start")
        await _remove(engine, old["Id"])


async def converge_all(engine: Engine) -> None:
    """:func:`converge` every name an interrupted recreate left behind (at agent start)."""
    summaries = await engine.request("GET", "containers/json", params={"all": True})
    names = set()
    for summary in summaries:
        for raw in summary.get("Names") or []:
            name = str(raw).lstrip("/")
            for suffix in (NEW_SUFFIX, OLD_SUFFIX):
                if name.endswith(suffix):
                    names.add(name.removesuffix(suffix))
    for name in sorted(names):
        try:
            await converge(engine, name)
        except FleetdeckError as exc:
            log.error("could not finish the interrupted recreate of %s: %s", name, exc.message)


async def _stop(engine: Engine, ref: str, timeout: int | None = None) -> bool:
    """Stop the container if it runs; return whether it did."""
    state = ((await engine.inspect_container(ref)).get("State") or {}).get("Status")
    if state in ("running", "restarting", "paused"):
        await engine.container_action(ref, "stop", timeout=timeout)
        return True
    return False


async def recreate(
    engine: Engine,
    ref: str,
    *,
    pull: bool,
    auth: Mapping[str, str] | None = None,
    timeout: int | None = None,
) -> str:
    """Recreate container ``ref``; return the new container's id.

    Raises:
        ConflictError: The container is owned by a Swarm service or a fleetdeck stack.
        NotFoundError: No such container, or the pull failed (the old one is untouched).
    """
    inspect = await engine.inspect_container(ref)
    why = refusal(inspect)
    if why:
        raise ConflictError(f"{_name(inspect)} is not recreated: {why}")
    name = _name(inspect)
    lock = _LOCKS.setdefault((engine.docker_host, name), asyncio.Lock())
    async with lock:
        return await _recreate(engine, name, pull=pull, auth=auth, timeout=timeout)


async def _recreate(
    engine: Engine,
    name: str,
    *,
    pull: bool,
    auth: Mapping[str, str] | None,
    timeout: int | None,
) -> str:
    await converge(engine, name, timeout)
    inspect = await engine.inspect_container(name)
    image = str((inspect.get("Config") or {}).get("Image") or "")
    if pull:
        await pull_or_fail(engine, image, auth)
    image_config = None
    try:
        image_config = (await engine.request("GET", f"images/{inspect['Image']}/json")).get(
            "Config"
        )
    except NotFoundError:
        pass
    body, others = recreate_body(inspect, image_config)
    new_id = await create_container(engine, name + NEW_SUFFIX, body, others)
    # From here on the old container changes: shielded, so a caller who stops waiting (the
    # server's timeout) does not cancel it half-way.
    await asyncio.shield(_swap(engine, name, inspect["Id"], new_id, timeout))
    return new_id


async def _swap(engine: Engine, name: str, old_id: str, new_id: str, timeout: int | None) -> None:
    await engine.rename_container(old_id, name + OLD_SUFFIX)
    await engine.rename_container(new_id, name)
    was_running = await _stop(engine, old_id, timeout)
    try:
        await engine.container_action(new_id, "start")
    except FleetdeckError:
        # The new one does not start (a port taken meanwhile…): put the old one back.
        await _remove(engine, new_id)
        await engine.rename_container(old_id, name)
        if was_running:
            await engine.container_action(old_id, "start")
        raise
    await _remove(engine, old_id)
