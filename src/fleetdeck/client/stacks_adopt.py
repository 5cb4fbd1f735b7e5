"""Client method for ``POST /stacks/{name}/adopt`` (taking over a stack found running)."""

from __future__ import annotations

from typing import Any

from fleetdeck.client.base import BaseClient, quote_segment


class StackAdoptionAPI(BaseClient):
    """Adoption of unmanaged Compose projects and Swarm stacks."""

    def adopt_stack(
        self,
        name: str,
        environment: str,
        files: list[dict[str, str]],
        env_file: str | None = None,
    ) -> dict[str, Any]:
        """Manage the running stack ``name`` from now on; returns it, with ``warnings``."""
        body = {"environment": environment, "files": files, "env_file": env_file}
        result: dict[str, Any] = self._request(
            "POST", f"/stacks/{quote_segment(name)}/adopt", json_body=body
        )
        return result
