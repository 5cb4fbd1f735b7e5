"""Compose files as a validated, typed model: loading, merging, interpolation, ordering.

``load_project`` turns one or more Compose files into a :class:`Project` whose every value has
one canonical form; ``startup_order`` groups its services into dependency levels.
"""

from fleetdeck.compose.loader import load_project
from fleetdeck.compose.model import Config, Network, Project, Secret, Service, Volume
from fleetdeck.compose.order import startup_order

__all__ = [
    "Config",
    "Network",
    "Project",
    "Secret",
    "Service",
    "Volume",
    "load_project",
    "startup_order",
]
