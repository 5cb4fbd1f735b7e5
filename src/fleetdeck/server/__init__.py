"""fleetdeck.server."""
