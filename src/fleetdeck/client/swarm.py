"""Client methods for Docker Swarm: nodes and services of a manager environment.

The contract gives no model for nodes, services and tasks, so they come back as the JSON
objects the server sends (Docker's documents or a summary of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.client.base import BaseClient, quote_segment
from fleetdeck.client.containers import log_lines

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.wire.containers import LogLine


def _objects(data: Any) -> list[dict[str, Any]]:
    """A list reply (bare or ``{"items": [...]}``) as dicts."""
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    return [item for item in data or [] if isinstance(item, dict)]


def _as_dict(data: Any) -> dict[str, Any]:
    return data if isinstance(data, dict) else {"ok": True, "result": data}


class SwarmAPI(BaseClient):
    """Routes under ``/environments/{env}/swarm/nodes`` and ``/environments/{env}/services``."""

    @staticmethod
    def _env(environment: str) -> str:
        return f"/environments/{quote_segment(environment)}"

    def _service(self, environment: str, service: str, suffix: str = "") -> str:
        return f"{self._env(environment)}/services/{quote_segment(service)}{suffix}"

    def list_swarm_nodes(self, environment: str) -> list[dict[str, Any]]:
        """``GET /environments/{env}/swarm/nodes``."""
        return _objects(self._request("GET", f"{self._env(environment)}/swarm/nodes"))

    def update_swarm_node(
        self,
        environment: str,
        node: str,
        *,
        availability: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """``POST /environments/{env}/swarm/nodes/{node}``: availability and/or labels."""
        body: dict[str, Any] = {}
        if availability is not None:
            body["availability"] = availability
        if labels is not None:
            body["labels"] = labels
        path = f"{self._env(environment)}/swarm/nodes/{quote_segment(node)}"
        return _as_dict(self._request("POST", path, json_body=body))

    def list_services(self, environment: str) -> list[dict[str, Any]]:
        """``GET /environments/{env}/services``."""
        return _objects(self._request("GET", f"{self._env(environment)}/services"))

    def get_service(self, environment: str, service: str) -> dict[str, Any]:
        """``GET /environments/{env}/services/{svc}``."""
        return _as_dict(self._request("GET", self._service(environment, service)))

    def scale_service(self, environment: str, service: str, replicas: int) -> dict[str, Any]:
        """``POST .../services/{svc}/scale``."""
        path = self._service(environment, service, "/scale")
        return _as_dict(self._request("POST", path, json_body={"replicas": replicas}))

    def update_service_image(self, environment: str, service: str, image: str) -> dict[str, Any]:
        """``POST .../services/{svc}/image``: a rolling update to another image."""
        path = self._service(environment, service, "/image")
        return _as_dict(self._request("POST", path, json_body={"image": image}))

    def rollback_service(self, environment: str, service: str) -> dict[str, Any]:
        """``POST .../services/{svc}/rollback``: back to the previous spec."""
        return _as_dict(self._request("POST", self._service(environment, service, "/rollback")))

    def remove_service(self, environment: str, service: str) -> dict[str, Any]:
        """``DELETE .../services/{svc}``."""
        return _as_dict(self._request("DELETE", self._service(environment, service)))

    def service_tasks(self, environment: str, service: str) -> list[dict[str, Any]]:
        """``GET .../services/{svc}/tasks``."""
        return _objects(self._request("GET", self._service(environment, service, "/tasks")))

    def service_logs(
        self,
        environment: str,
        service: str,
        *,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        """``GET .../services/{svc}/logs``: NDJSON log lines, forever with ``follow``."""
        params = {"follow": follow or None, "tail": tail}
        path = self._service(environment, service, "/logs")
        yield from log_lines(self._stream("GET", path, params=params, follow=follow))
