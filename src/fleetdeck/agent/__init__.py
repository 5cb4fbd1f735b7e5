"""fleetdeck.agent."""
