"""Drift: a managed stack's live state against its deployed revision, and its drift policy."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from fleetdeck.wire.base import RequestBody


class DriftDifference(BaseModel):
    """One way a service differs.

    ``what``: missing, extra, config, image, replicas, removed_service or extra_service.
    """

    what: str
    message: str
    container: str | None = None


class ServiceDriftView(BaseModel):
    """One service: ``drifted`` and what differs."""

    service: str
    drifted: bool
    differences: list[DriftDifference]


class DesiredServiceView(BaseModel):
    """A service as the deployed revision wants it (``replicas`` None: global)."""

    replicas: int | None
    image: str


class StackDrift(BaseModel):
    """``GET /stacks/{name}/drift``.

    ``state``: in_sync, drifted, stopped, suspended, deploying, unknown (environment not
    reachable) or error (the revision could not be loaded); ``policy`` notify or revert, from
    ``policy_source`` api, compose or default.
    """

    stack: str
    environment: str
    kind: str
    state: str
    drifted: bool
    policy: str
    policy_source: str
    suspended: bool
    revision: int | None
    message: str
    services: list[ServiceDriftView]
    desired: dict[str, DesiredServiceView]
    checked_at: str | None
    reverts: int
    next_revert_at: str | None


class DriftPolicyBody(RequestBody):
    """``PUT /stacks/{name}/drift``: what to change (left out: unchanged).

    ``policy`` ``default`` removes the API's policy (the Compose files' or ``notify`` applies
    again).
    """

    policy: Literal["notify", "revert", "default"] | None = None
    suspended: bool | None = None
