"""Client method for rolling the server's agent build out (``/agents/upgrade``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.client.base import BaseClient, raise_if_stream_error
from fleetdeck.wire.upgrade import UpgradeEvent

if TYPE_CHECKING:
    from collections.abc import Iterator


class AgentsAPI(BaseClient):
    """Routes under ``/agents``."""

    def upgrade_agents(
        self,
        environments: list[str] | None = None,
        *,
        dry_run: bool = False,
        timeout_seconds: int = 120,
    ) -> Iterator[UpgradeEvent]:
        """``POST /agents/upgrade``: the plan, each node's steps, then ``done``, as they come."""
        body = {
            "environments": environments or [],
            "dry_run": dry_run,
            "timeout_seconds": timeout_seconds,
        }
        for item in self._stream("POST", "/agents/upgrade", json_body=body, follow=True):
            raise_if_stream_error(item)
            yield UpgradeEvent.model_validate(item)
