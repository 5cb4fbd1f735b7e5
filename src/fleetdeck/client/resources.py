"""Client methods for per-engine resources: images (and pulls), volumes, networks, registries.

Each lives on one engine, so requests name an environment and, in a multi-node environment,
optionally a node (the server picks or fans out when the node is left out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.client.base import BaseClient, parse, parse_list, quote_segment
from fleetdeck.wire.admin import Registry
from fleetdeck.wire.resources import ImagePage, NetworkPage, PruneResult, VolumePage

if TYPE_CHECKING:
    from collections.abc import Iterator

#: A volume listing with sizes: the engines' bounded disk-usage walk, then some.
SIZED_LIST_TIMEOUT_S = 60.0


def _where(environment: str, node: str | None) -> dict[str, Any]:
    """The ``{environment, node?}`` part of a body."""
    body: dict[str, Any] = {"environment": environment}
    if node:
        body["node"] = node
    return body


def _page(data: Any) -> Any:
    """A listing as ``{"items": [...]}`` even if a server sends the bare list."""
    return {"items": data} if isinstance(data, list) else data


def _as_dict(data: Any) -> dict[str, Any]:
    """A reply the contract leaves open, as a dict (an empty reply is ``{"ok": true}``)."""
    return data if isinstance(data, dict) else {"ok": True, "result": data}


class ResourcesAPI(BaseClient):
    """Routes under ``/images``, ``/volumes``, ``/networks`` and ``/registries``."""

    def list_images(
        self,
        environment: str | None = None,
        node: str | None = None,
        *,
        unused: bool = False,
        dangling: bool = False,
    ) -> ImagePage:
        """``GET /images``: what the selected nodes hold (nodes that did not answer are named).

        ``unused`` keeps the images no container (running or stopped) uses; ``dangling`` the
        untagged ones.
        """
        params = {
            "environment": environment,
            "node": node,
            "unused": unused or None,
            "dangling": dangling or None,
        }
        return parse(ImagePage, _page(self._request("GET", "/images", params=params)))

    def pull(
        self,
        image: str,
        environment: str,
        node: str | None = None,
        registry: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``POST /images/pull``: yield Docker's progress objects as they come.

        The last object is ``{"status": "done", "image": REF}``; a failure arrives in-band as
        ``{"error": ...}`` and is yielded like the rest (the caller decides how to show it).
        """
        body = _where(environment, node) | {"image": image}
        if registry:
            body["registry"] = registry
        yield from self._stream("POST", "/images/pull", json_body=body, follow=True)

    def remove_image(
        self, image: str, environment: str, node: str | None = None, *, force: bool = False
    ) -> dict[str, Any]:
        """``DELETE /images``: remove an image (by reference or id) from the engine(s)."""
        params = {"environment": environment, "node": node, "image": image, "force": force or None}
        return _as_dict(self._request("DELETE", "/images", params=params))

    def prune_images(self, environment: str, node: str | None = None) -> PruneResult:
        """``POST /images/prune``: remove dangling images."""
        data = self._request("POST", "/images/prune", json_body=_where(environment, node))
        return parse(PruneResult, data or {})

    def list_volumes(
        self,
        environment: str | None = None,
        node: str | None = None,
        *,
        size: bool = False,
        unused: bool = False,
    ) -> VolumePage:
        """``GET /volumes``: what the selected nodes hold (nodes that did not answer are named).

        ``size`` has each engine measure its volumes (bounded; see ``size_status``); ``unused``
        keeps the volumes no container mounts.
        """
        params: dict[str, Any] = {"environment": environment, "node": node}
        params |= {"size": size or None, "unused": unused or None}
        # The server waits up to DISK_USAGE_WAIT_S + its own 10 s for each node's sizes.
        timeout = SIZED_LIST_TIMEOUT_S if size else None
        data = self._request("GET", "/volumes", params=params, timeout=timeout)
        return parse(VolumePage, _page(data))

    def create_volume(
        self,
        environment: str,
        name: str,
        node: str | None = None,
        driver: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """``POST /volumes``."""
        body = _where(environment, node) | {"name": name}
        if driver:
            body["driver"] = driver
        if labels:
            body["labels"] = labels
        return _as_dict(self._request("POST", "/volumes", json_body=body))

    def remove_volume(
        self, environment: str, name: str, node: str | None = None, *, force: bool = False
    ) -> dict[str, Any]:
        """``DELETE /volumes/{env}/{name}``."""
        path = f"/volumes/{quote_segment(environment)}/{quote_segment(name)}"
        params = {"node": node, "force": force or None}
        return _as_dict(self._request("DELETE", path, params=params))

    def prune_volumes(self, environment: str, node: str | None = None) -> PruneResult:
        """``POST /volumes/prune``: remove volumes no container uses."""
        data = self._request("POST", "/volumes/prune", json_body=_where(environment, node))
        return parse(PruneResult, data or {})

    def list_networks(self, environment: str | None = None, node: str | None = None) -> NetworkPage:
        """``GET /networks``: what the selected nodes hold (nodes that did not answer are named)."""
        params = {"environment": environment, "node": node}
        return parse(NetworkPage, _page(self._request("GET", "/networks", params=params)))

    def create_network(
        self,
        environment: str,
        name: str,
        node: str | None = None,
        driver: str | None = None,
        labels: dict[str, str] | None = None,
        attachable: bool | None = None,
    ) -> dict[str, Any]:
        """``POST /networks``."""
        body = _where(environment, node) | {"name": name}
        if driver:
            body["driver"] = driver
        if labels:
            body["labels"] = labels
        if attachable is not None:
            body["attachable"] = attachable
        return _as_dict(self._request("POST", "/networks", json_body=body))

    def remove_network(
        self, environment: str, name: str, node: str | None = None
    ) -> dict[str, Any]:
        """``DELETE /networks/{env}/{name}``."""
        path = f"/networks/{quote_segment(environment)}/{quote_segment(name)}"
        return _as_dict(self._request("DELETE", path, params={"node": node}))

    def prune_networks(self, environment: str, node: str | None = None) -> PruneResult:
        """``POST /networks/prune``: remove networks no container uses."""
        data = self._request("POST", "/networks/prune", json_body=_where(environment, node))
        return parse(PruneResult, data or {})

    def connect_network(
        self, environment: str, network: str, container: str, node: str | None = None
    ) -> dict[str, Any]:
        """``POST /networks/{env}/{name}/connect``."""
        path = f"/networks/{quote_segment(environment)}/{quote_segment(network)}/connect"
        body: dict[str, Any] = {"container": container}
        if node:
            body["node"] = node
        return _as_dict(self._request("POST", path, json_body=body))

    def disconnect_network(
        self,
        environment: str,
        network: str,
        container: str,
        node: str | None = None,
        *,
        force: bool = False,
    ) -> dict[str, Any]:
        """``POST /networks/{env}/{name}/disconnect``."""
        path = f"/networks/{quote_segment(environment)}/{quote_segment(network)}/disconnect"
        body: dict[str, Any] = {"container": container}
        if node:
            body["node"] = node
        if force:
            body["force"] = True
        return _as_dict(self._request("POST", path, json_body=body))

    def list_registries(self) -> list[Registry]:
        """``GET /registries``."""
        return parse_list(Registry, self._request("GET", "/registries"))

    def create_registry(
        self, name: str, url: str, username: str | None = None, password: str | None = None
    ) -> Registry:
        """``POST /registries``: the password is stored encrypted and never read back."""
        body: dict[str, Any] = {"name": name, "url": url}
        if username is not None:
            body["username"] = username
        if password is not None:
            body["password"] = password
        return parse(Registry, self._request("POST", "/registries", json_body=body))

    def delete_registry(self, name: str) -> None:
        """``DELETE /registries/{name}``."""
        self._request("DELETE", f"/registries/{quote_segment(name)}")
