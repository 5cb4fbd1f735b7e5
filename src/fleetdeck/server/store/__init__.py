"""fleetdeck.server.store."""
