"""Paths of agent routes: :func:`agent_path` now lives in the agent client (its only user soon)."""

from __future__ import annotations

from fleetdeck.server.fleet.agent_client import agent_path

__all__ = ["agent_path"]
