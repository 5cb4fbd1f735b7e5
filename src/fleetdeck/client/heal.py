"""Client methods for auto-heal: status, policy layers, resets and history (``/heal``)."""

from __future__ import annotations

from typing import Any

from fleetdeck.client.base import BaseClient, quote_segment
from fleetdeck.wire.heal import HealHistory, HealPolicies, HealPolicy, HealResetResult, HealStatus


class HealAPI(BaseClient):
    """Routes under ``/heal``."""

    def heal_status(self) -> HealStatus:
        """``GET /heal``: watched containers and Swarm services with churn."""
        return HealStatus.model_validate(self._request("GET", "/heal"))

    def heal_policies(self) -> HealPolicies:
        """``GET /heal/policies``: the effective default and every stored layer."""
        return HealPolicies.model_validate(self._request("GET", "/heal/policies"))

    def set_heal_policy(self, target: str, fields: dict[str, Any]) -> HealPolicy:
        """``PUT /heal/policies/{target}`` (``default``, ``STACK``, ``STACK/SERVICE``)."""
        path = f"/heal/policies/{quote_segment(target)}"
        return HealPolicy.model_validate(self._request("PUT", path, json_body=fields))

    def delete_heal_policy(self, target: str) -> HealPolicies:
        """``DELETE /heal/policies/{target}``: the API layer of ``target`` goes."""
        path = f"/heal/policies/{quote_segment(target)}"
        return HealPolicies.model_validate(self._request("DELETE", path))

    def reset_heal(self, ref: str) -> HealResetResult:
        """``POST /heal/reset/{ref}``: forget a container's crash loop; healing resumes."""
        path = f"/heal/reset/{quote_segment(ref)}"
        return HealResetResult.model_validate(self._request("POST", path))

    def heal_history(
        self, *, limit: int = 100, offset: int = 0, target: str | None = None
    ) -> HealHistory:
        """``GET /heal/history``: the healer's actions and reasons, newest first."""
        params = {"limit": limit, "offset": offset, "target": target}
        return HealHistory.model_validate(self._request("GET", "/heal/history", params=params))
