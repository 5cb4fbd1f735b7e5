"""The typed HTTP client for fleetdeck's server API (``/api/v1``)."""

from fleetdeck.client.client import FleetdeckClient
from fleetdeck.client.config import ClientConfig, resolve_config

__all__ = ["ClientConfig", "FleetdeckClient", "resolve_config"]
