"""fleetdeck.server.fleet."""
