"""fleetdeck.server.auth."""
