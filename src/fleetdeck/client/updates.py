"""Client methods for image updates: pending updates, checks and policies (``/updates``)."""

from __future__ import annotations

from fleetdeck.client.base import BaseClient, quote_segment
from fleetdeck.wire.updates import CheckResult, UpdatePolicies, UpdatesList

#: A check waits for the round, automatic deploys included.
CHECK_TIMEOUT_S = 900.0


class UpdatesAPI(BaseClient):
    """Routes under ``/updates``."""

    def updates(self) -> UpdatesList:
        """``GET /updates``: every watched stack service and what its registry said."""
        return UpdatesList.model_validate(self._request("GET", "/updates"))

    def check_updates(self) -> CheckResult:
        """``POST /updates/check``: a round now (``auto`` services are deployed in it)."""
        answer = self._request("POST", "/updates/check", timeout=CHECK_TIMEOUT_S)
        return CheckResult.model_validate(answer)

    def update_policies(self) -> UpdatePolicies:
        """``GET /updates/policies``: the effective default and the API's policies."""
        return UpdatePolicies.model_validate(self._request("GET", "/updates/policies"))

    def set_update_policy(self, target: str, policy: str) -> UpdatePolicies:
        """``PUT /updates/policies/{target}`` (``default``, ``STACK``, ``STACK/SERVICE``)."""
        path = f"/updates/policies/{quote_segment(target)}"
        answer = self._request("PUT", path, json_body={"policy": policy})
        return UpdatePolicies.model_validate(answer)

    def delete_update_policy(self, target: str) -> UpdatePolicies:
        """``DELETE /updates/policies/{target}``."""
        path = f"/updates/policies/{quote_segment(target)}"
        return UpdatePolicies.model_validate(self._request("DELETE", path))
