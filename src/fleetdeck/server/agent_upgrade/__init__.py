"""``fleetdeck agents upgrade``: roll the server's agent build out one host at a time.

The app factory mounts :data:`router` under ``/api/v1`` (``POST /agents/upgrade``); the
rollout itself is :class:`~fleetdeck.server.agent_upgrade.service.AgentUpgrader`.
"""

from fleetdeck.server.agent_upgrade.api import router

__all__ = ["router"]
