"""fleetdeck: a self-hosted control plane for fleets of Docker hosts."""

__version__ = "0.2.0.dev0"
