"""fleetdeck.client."""
