"""fleetdeck.server.routes."""
