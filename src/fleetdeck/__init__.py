"""fleetdeck: a self-hosted control plane for fleets of Docker hosts."""

__version__ = "0.1.0"
