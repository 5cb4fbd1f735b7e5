"""Client methods for ``/autoscale``: policies and their decisions."""

from __future__ import annotations

from typing import Any

from fleetdeck.client.base import BaseClient, quote_segment
from fleetdeck.wire.autoscale import DecisionOut, PolicyOut


class AutoscaleAPI(BaseClient):
    """Routes under ``/autoscale``."""

    @staticmethod
    def _policy_path(scope: str, service: str) -> str:
        return f"/autoscale/{quote_segment(scope)}/{quote_segment(service)}"

    def list_autoscale(self) -> list[PolicyOut]:
        """``GET /autoscale``."""
        return [PolicyOut.model_validate(p) for p in self._request("GET", "/autoscale")]

    def set_autoscale(self, scope: str, service: str, body: dict[str, Any]) -> PolicyOut:
        """``PUT /autoscale/{scope}/{service}``: set or replace a policy."""
        path = self._policy_path(scope, service)
        return PolicyOut.model_validate(self._request("PUT", path, json_body=body))

    def remove_autoscale(self, scope: str, service: str) -> None:
        """``DELETE /autoscale/{scope}/{service}``."""
        self._request("DELETE", self._policy_path(scope, service))

    def autoscale_history(self, scope: str, service: str, limit: int = 100) -> list[DecisionOut]:
        """``GET /autoscale/{scope}/{service}/history``: decisions, newest first."""
        path = self._policy_path(scope, service) + "/history"
        rows = self._request("GET", path, params={"limit": limit})
        return [DecisionOut.model_validate(r) for r in rows]
