"""Auto-heal: policies, what the healer sees of each container and Swarm service, its history.

Durations are seconds in answers; a policy body takes seconds or ``10s``/``5m`` text, as alert
rules do. Every policy field is optional in a body: what is left out is inherited from the
layer below (a stack's policy from the fleet-wide default, a service's from its stack's).
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - pydantic needs it at run time

from pydantic import BaseModel, Field

from fleetdeck.wire.admin import AuditEntry
from fleetdeck.wire.base import RequestBody

#: A duration as a body gives it: seconds, or text such as ``10s``, ``5m``, ``1h30m``.
DurationValue = float | str


class HealPolicyBody(RequestBody):
    """``PUT /heal/policies/{target}``: the fields this layer sets (None: inherited)."""

    enabled: bool | None = None
    #: Seconds a container must stay unhealthy before its first restart.
    grace: DurationValue | None = None
    #: The delay before the second restart of a streak; it doubles each restart after.
    backoff: DurationValue | None = None
    #: The longest delay between two restarts.
    backoff_max: DurationValue | None = None
    #: Healthy this long: the streak (and its backoff) starts over.
    reset_after: DurationValue | None = None
    #: Restarts within ``window`` after which the container is declared crash-looping.
    max_restarts: int | None = Field(default=None, ge=1, le=100)
    window: DurationValue | None = None
    #: Seconds the engine waits for the container to stop before it kills it.
    stop_timeout: DurationValue | None = None


class HealPolicySettings(BaseModel):
    """A policy with every field resolved (durations in seconds)."""

    enabled: bool
    grace: float
    backoff: float
    backoff_max: float
    reset_after: float
    max_restarts: int
    window: float
    stop_timeout: float


class HealPolicy(BaseModel):
    """One stored layer: ``default``, ``STACK`` or ``STACK/SERVICE``, from the API or Compose."""

    target: str
    #: ``api`` (set with the API or CLI) or ``compose`` (``x-fleetdeck.autoheal`` of a stack).
    source: str
    #: The fields this layer sets (seconds for durations).
    fields: dict[str, float | int | bool]
    updated_at: datetime | None = None


class HealPolicies(BaseModel):
    """``GET /heal/policies``: the effective default and every stored layer."""

    default: HealPolicySettings
    layers: list[HealPolicy]


class HealContainer(BaseModel):
    """A container the healer watches (under an enabled policy) or has acted on."""

    environment: str
    node: str
    container: str
    id: str
    stack: str | None = None
    service: str | None = None
    state: str
    health: str | None = None
    #: ``watching``, ``waiting`` (a restart is due at ``next_restart_at``), ``held`` (see
    #: ``reason``), ``crash_looping`` or ``disabled``.
    phase: str
    reason: str = ""
    #: Where the policy came from, most specific last (``default``, ``compose:shop``, ``label``…).
    policy_sources: list[str] = Field(default_factory=list)
    policy: HealPolicySettings
    restarts_in_window: int = 0
    streak: int = 0
    last_restart_at: datetime | None = None
    next_restart_at: datetime | None = None
    crash_looping_since: datetime | None = None


class HealService(BaseModel):
    """A Swarm service's task churn: tasks replaced after failing, within the window."""

    environment: str
    service: str
    stack: str | None = None
    replacements_in_window: int
    window: float
    crash_looping: bool
    last_replacement_at: datetime | None = None


class HealStatus(BaseModel):
    """``GET /heal``: watched containers and Swarm services with churn."""

    containers: list[HealContainer]
    services: list[HealService]


class HealResetResult(BaseModel):
    """``POST /heal/reset/{ref}``: the container's state after the reset."""

    container: HealContainer


class HealHistory(BaseModel):
    """``GET /heal/history``: the healer's actions (audit entries ``heal.*``), newest first."""

    items: list[AuditEntry]
    total: int
