"""The autoscaling routes' bodies and answers (``/api/v1/autoscale…``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from fleetdeck.wire.base import RequestBody


class PolicyBody(RequestBody):
    """``PUT /autoscale/{scope}/{service}``: a service's policy (replaces any earlier one).

    ``kind`` says what ``scope`` names: a managed stack (``stack``) or a Swarm environment
    (``swarm``); left out, a managed stack of that name wins.
    """

    kind: Literal["stack", "swarm"] | None = None
    min: int = Field(ge=1, le=100)
    max: int = Field(ge=1, le=100)
    cpu: float | None = Field(default=None, gt=0, le=1000)
    memory: float | None = Field(default=None, gt=0, le=1000)
    prometheus: str | None = Field(default=None, min_length=1, max_length=2000)
    target: float | None = Field(default=None, gt=0)
    recommend_only: bool = False
    scale_down_window_s: int = Field(default=300, ge=0, le=3600)
    scale_up_pods: int = Field(default=4, ge=1, le=100)
    scale_up_percent: int = Field(default=100, ge=1, le=1000)
    scale_up_period_s: float = Field(default=15, gt=0, le=3600)
    tolerance: float = Field(default=0.1, ge=0, lt=1)


class PolicyOut(BaseModel):
    """One policy."""

    target: str
    kind: str
    min: int
    max: int
    cpu: float | None
    memory: float | None
    prometheus: str | None
    prometheus_target: float | None
    recommend_only: bool
    scale_down_window_s: int
    behaviour: dict[str, Any]


class DecisionOut(BaseModel):
    """One sync's decision: ``metrics`` maps each metric to its value, target, recommendation."""

    at: str
    current: int
    desired: int
    applied: bool
    reason: str
    metrics: dict[str, Any]


class Removed(BaseModel):
    """``DELETE /autoscale/{scope}/{service}``."""

    ok: bool
