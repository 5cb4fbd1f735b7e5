"""A service's ``deploy`` section: replicas, resources, restart, update/rollback, placement.

Unset fields stay None rather than taking a default: Swarm's, Compose's and docker-py's
defaults disagree, so the appliers choose and set every value explicitly.
(No postponed annotations here: pydantic evaluates them.)
"""

from typing import Literal

from pydantic import Field

from fleetdeck.compose.model_base import ComposeModel, Cpus, Duration, Size, StrMap
from fleetdeck.compose.model_parts import DeviceRequest


class ResourceLimits(ComposeModel):
    """Upper bounds for a container."""

    cpus: Cpus | None = None
    memory: Size | None = None
    pids: int | None = None


class ResourceReservations(ComposeModel):
    """What a container is guaranteed (and placed by), including devices such as GPUs."""

    cpus: Cpus | None = None
    memory: Size | None = None
    devices: list[DeviceRequest] = []


class Resources(ComposeModel):
    """Resource limits and reservations."""

    limits: ResourceLimits | None = None
    reservations: ResourceReservations | None = None


class RestartPolicy(ComposeModel):
    """When the orchestrator restarts a task."""

    condition: Literal["none", "on-failure", "any"] | None = None
    delay: Duration | None = None
    max_attempts: int | None = Field(default=None, ge=0)
    window: Duration | None = None


class UpdateConfig(ComposeModel):
    """How replicas are replaced during an update (and, as ``rollback_config``, a rollback)."""

    parallelism: int | None = Field(default=None, ge=0)
    delay: Duration | None = None
    failure_action: Literal["continue", "rollback", "pause"] | None = None
    monitor: Duration | None = None
    max_failure_ratio: float | None = Field(default=None, ge=0, le=1)
    order: Literal["stop-first", "start-first"] | None = None


class PlacementPreference(ComposeModel):
    """Spread tasks over the values of a node label."""

    spread: str


class Placement(ComposeModel):
    """Where tasks may run."""

    constraints: list[str] = []
    preferences: list[PlacementPreference] = []
    max_replicas_per_node: int | None = Field(default=None, ge=0)


class Deploy(ComposeModel):
    """The ``deploy`` section of a service."""

    mode: Literal["replicated", "global", "replicated-job", "global-job"] | None = None
    replicas: int | None = Field(default=None, ge=0)
    resources: Resources | None = None
    restart_policy: RestartPolicy | None = None
    update_config: UpdateConfig | None = None
    rollback_config: UpdateConfig | None = None
    placement: Placement | None = None
    endpoint_mode: Literal["vip", "dnsrr"] | None = None
    labels: StrMap = {}
