"""The typed client for fleetdeck's ``/api/v1``: one method per route.

It is the only way the CLI, tests and benchmarks talk to a server; see
``docs/dev/fleet-core.md`` for the routes. Methods return :mod:`fleetdeck.wire` models
(the ones the server answers with) and raise :mod:`fleetdeck.errors` kinds.
"""

from __future__ import annotations

from fleetdeck.client.admin import AdminAPI
from fleetdeck.client.agents import AgentsAPI
from fleetdeck.client.alerts import AlertsAPI
from fleetdeck.client.autoscale import AutoscaleAPI
from fleetdeck.client.backups import BackupsAPI
from fleetdeck.client.containers import ContainersAPI
from fleetdeck.client.gitops import GitOpsAPI
from fleetdeck.client.heal import HealAPI
from fleetdeck.client.logs import LogsAPI
from fleetdeck.client.metrics import MetricsAPI
from fleetdeck.client.resources import ResourcesAPI
from fleetdeck.client.stacks import StacksAPI
from fleetdeck.client.stacks_adopt import StackAdoptionAPI
from fleetdeck.client.swarm import SwarmAPI
from fleetdeck.client.updates import UpdatesAPI
from fleetdeck.client.volume_backups import VolumeBackupsAPI


class FleetdeckClient(
    AdminAPI,
    ContainersAPI,
    ResourcesAPI,
    SwarmAPI,
    MetricsAPI,
    LogsAPI,
    StacksAPI,
    StackAdoptionAPI,
    AlertsAPI,
    BackupsAPI,
    VolumeBackupsAPI,
    HealAPI,
    AutoscaleAPI,
    UpdatesAPI,
    GitOpsAPI,
    AgentsAPI,
):
    """A synchronous fleetdeck API client (use it as a context manager to close it).

    Example:
        >>> with FleetdeckClient(resolve_config()) as client:  # doctest: +SKIP
        ...     for c in client.list_containers(state="running").items:
        ...         print(c.environment, c.name)
    """

    def __enter__(self) -> FleetdeckClient:
        return self
