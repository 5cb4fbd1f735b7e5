"""Images, volumes and networks of one engine (a mixin of :class:`~fleetdeck.agent.engine.Engine`).

Kept apart from containers only to keep modules small; every call still goes through
:class:`~fleetdeck.agent.docker_api.DockerAPI`, so engine errors are mapped the same way.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import TYPE_CHECKING, Any

from fleetdeck.agent import convert
from fleetdeck.agent.docker_api import DockerAPI
from fleetdeck.errors import FleetdeckError
from fleetdeck.wire.resources import DISK_USAGE_WAIT_S

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Mapping

    from fleetdeck.agent.convert import VolumeSize
    from fleetdeck.wire.resources import ImageInfo, NetworkInfo, VolumeInfo


def qualify_reference(ref: str) -> str:
    """Add ``:latest`` to a reference without tag or digest.

    The Engine API pulls *every* tag of a repository when ``fromImage`` has none (the docker
    CLI always adds ``latest``); nobody pulling from fleetdeck means that.
    """
    if "@" in ref:
        return ref
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


def registry_auth_header(auth: Mapping[str, str]) -> dict[str, str]:
    """The ``X-Registry-Auth`` header for a pull with credentials."""
    payload = json.dumps(dict(auth)).encode()
    return {"X-Registry-Auth": base64.urlsafe_b64encode(payload).decode()}


def _not_requested(_name: str) -> VolumeSize:
    return convert.NOT_REQUESTED


def size_lookup(walk: dict[str, Any] | FleetdeckError | None) -> Callable[[str], VolumeSize]:
    """Each volume's size from a disk-usage walk's answer, its error, or None (timed out)."""
    if walk is None:
        return lambda _name: ("timed_out", None, None)
    if isinstance(walk, FleetdeckError):
        message = walk.message
        return lambda _name: ("failed", None, message)
    sizes = convert.volume_sizes(walk)

    def size_of(name: str) -> VolumeSize:
        found = sizes.get(name)
        return ("unknown", None, None) if found is None else ("measured", found, None)

    return size_of


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _pruned(deleted: list[str], space: int | None) -> dict[str, Any]:
    return {"deleted": deleted, "space_reclaimed": int(space or 0)}


class ResourcesMixin(DockerAPI):
    """Images, volumes and networks."""

    #: The engine's disk-usage walk in flight (or last finished), shared by every listing.
    _disk_usage: asyncio.Future[Any] | None = None

    # ------------------------------------------------------------------ images
    async def _container_summaries(self) -> list[dict[str, Any]]:
        """Every container, running or stopped, as ``/containers/json`` has it (no inspect)."""
        summaries: list[dict[str, Any]] = await self.request(
            "GET", "containers/json", params={"all": True}
        )
        return summaries

    async def list_images(self) -> list[ImageInfo]:
        """Every image of the engine (intermediate layers excluded) and who uses it.

        Docker's own per-image container count is only computed by ``/system/df`` (slow: it
        sizes every layer), so the containers are listed beside and matched by image id.
        """
        raw, summaries = await asyncio.gather(
            self.request("GET", "images/json"), self._container_summaries()
        )
        users = convert.image_users(summaries)
        return [convert.image_info(image, users.get(image["Id"], [])) for image in raw]

    @contextlib.asynccontextmanager
    async def pull_image(
        self, ref: str, auth: Mapping[str, str] | None = None
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Start pulling ``ref``; yield the engine's progress objects as they come."""
        headers = registry_auth_header(auth) if auth else None
        params = {"fromImage": qualify_reference(ref)}
        async with self.stream("POST", "images/create", params=params, headers=headers) as resp:

            async def progress() -> AsyncIterator[dict[str, Any]]:
                with self.errors():
                    async for raw in resp.content:
                        if raw.strip():
                            yield json.loads(raw)

            yield progress()

    async def remove_image(self, ref: str, *, force: bool) -> list[str]:
        """Remove an image (or one of its tags); return what was untagged or deleted."""
        raw: list[dict[str, str]] = await self.request(
            "DELETE", f"images/{ref}", params={"force": force}
        )
        return [item.get("Deleted") or item.get("Untagged") or "" for item in raw]

    async def prune_images(self, *, dangling_only: bool = True) -> dict[str, Any]:
        """Remove unused images (only dangling ones unless ``dangling_only`` is false)."""
        filters = {"dangling": ["true" if dangling_only else "false"]}
        raw = await self.request("POST", "images/prune", params={"filters": filters})
        deleted = [
            item.get("Deleted") or item.get("Untagged") or ""
            for item in raw.get("ImagesDeleted") or []
        ]
        return _pruned(deleted, raw.get("SpaceReclaimed"))

    # ----------------------------------------------------------------- volumes
    async def list_volumes(self, *, size: bool = False) -> list[VolumeInfo]:
        """Every volume of the engine, the containers mounting it and, with ``size``, its size.

        Sizes come from the engine's disk-usage walk, waited for at most
        :data:`DISK_USAGE_WAIT_S`; past that the volumes are listed with ``timed_out``.
        """
        raw, summaries = await asyncio.gather(
            self.request("GET", "volumes"), self._container_summaries()
        )
        size_of = size_lookup(await self._disk_usage_walk()) if size else _not_requested
        users = convert.volume_users(summaries)
        return [
            convert.volume_info(v, users.get(v["Name"], []), size_of(v["Name"]))
            for v in raw.get("Volumes") or []
        ]

    async def _disk_usage_walk(self) -> dict[str, Any] | FleetdeckError | None:
        """The engine's disk usage (``GET /system/df``), its error, or None when it timed out.

        Engine 20.10 refuses a second walk while one runs, and newer ones share it, so every
        caller joins the one in flight: a walk that outlasts the wait keeps going and the next
        listing waits on it instead of starting another.
        """
        if self._disk_usage is None or self._disk_usage.done():
            # ``type=volume`` (API 1.42+) walks only volumes; older engines ignore it and
            # size everything, which is why the wait is bounded.
            walk = self.request("GET", "system/df", params={"type": "volume"})
            self._disk_usage = asyncio.ensure_future(walk)
            # A walk nobody waits for any more still ends; its error must not go unretrieved.
            self._disk_usage.add_done_callback(_retrieve)
        try:
            answer: dict[str, Any] = await asyncio.wait_for(
                asyncio.shield(self._disk_usage), DISK_USAGE_WAIT_S
            )
        except TimeoutError:
            return None
        except FleetdeckError as exc:
            return exc
        return answer

    async def create_volume(
        self, name: str, driver: str | None = None, labels: Mapping[str, str] | None = None
    ) -> VolumeInfo:
        """Create a volume."""
        body = {"Name": name, "Driver": driver or "local", "Labels": dict(labels or {})}
        created = await self.request("POST", "volumes/create", body=body)
        return convert.volume_info(created, used_by=[])

    async def remove_volume(self, name: str, *, force: bool) -> None:
        """Remove a volume."""
        await self.request("DELETE", f"volumes/{name}", params={"force": force})

    async def prune_volumes(self) -> dict[str, Any]:
        """Remove volumes no container uses."""
        raw = await self.request("POST", "volumes/prune")
        return _pruned(list(raw.get("VolumesDeleted") or []), raw.get("SpaceReclaimed"))

    # ---------------------------------------------------------------- networks
    async def list_networks(self) -> list[NetworkInfo]:
        """Every network of the engine."""
        raw: list[dict[str, Any]] = await self.request("GET", "networks")
        return [convert.network_info(n) for n in raw]

    async def create_network(
        self,
        name: str,
        *,
        driver: str | None = None,
        labels: Mapping[str, str] | None = None,
        attachable: bool = False,
    ) -> NetworkInfo:
        """Create a network (refused with ConflictError if the name is taken)."""
        body = {
            "Name": name,
            "Driver": driver or "bridge",
            "Labels": dict(labels or {}),
            "Attachable": attachable,
            "CheckDuplicate": True,
        }
        created = await self.request("POST", "networks/create", body=body)
        return convert.network_info(await self.request("GET", f"networks/{created['Id']}"))

    async def remove_network(self, ref: str) -> None:
        """Remove a network."""
        await self.request("DELETE", f"networks/{ref}")

    async def prune_networks(self) -> dict[str, Any]:
        """Remove networks no container uses."""
        raw = await self.request("POST", "networks/prune")
        return _pruned(list(raw.get("NetworksDeleted") or []), 0)

    async def connect_network(self, ref: str, container: str) -> None:
        """Connect a container to a network."""
        await self.request("POST", f"networks/{ref}/connect", body={"Container": container})

    async def disconnect_network(self, ref: str, container: str, *, force: bool = False) -> None:
        """Disconnect a container from a network."""
        body = {"Container": container, "Force": force}
        await self.request("POST", f"networks/{ref}/disconnect", body=body)
