"""Image updates: what the watcher found per stack service, policies, a check's round.

``status`` of a service: ``current`` (its tag points at the digest it runs), ``available``
(a newer digest is there; ``notify``), ``updating`` (an ``auto`` deploy runs), ``failed`` (the
automatic update to ``available_digest`` was undone: it is not tried again), ``unknown``
(not checked yet, or the registry did not say: see ``message``).
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - pydantic needs it at run time
from typing import Literal

from pydantic import BaseModel

from fleetdeck.wire.base import RequestBody

Policy = Literal["off", "notify", "auto"]


class UpdatePolicyBody(RequestBody):
    """``PUT /updates/policies/{target}``."""

    policy: Policy


class UpdateItem(BaseModel):
    """One stack service's image and what its registry says about its tag."""

    stack: str
    service: str
    environment: str
    #: The image as the Compose file names it, and fully qualified (what is checked).
    image: str
    reference: str
    policy: Policy
    #: Where the policy comes from: ``api:TARGET``, ``compose:TARGET``, ``default:default``,
    #: ``built-in``.
    policy_source: str
    status: str
    running_digest: str | None = None
    available_digest: str | None = None
    update_available: bool = False
    failed_digests: list[str] = []
    message: str = ""
    checked_at: datetime | None = None


class RegistryRequests(BaseModel):
    """Requests sent to one registry since the server started, and its backoff."""

    registry: str
    head: int
    token: int
    backoff_until: datetime | None = None


class UpdatesList(BaseModel):
    """``GET /updates``: every watched service (policy not ``off``)."""

    items: list[UpdateItem]
    registries: list[RegistryRequests] = []
    last_round_at: datetime | None = None


class CheckResult(BaseModel):
    """``POST /updates/check``: one round, run now (fresh answers, no cache)."""

    #: Distinct image references asked, services watched, requests sent in this round.
    references: int
    services: int
    head_requests: int
    token_requests: int
    #: ``STACK/SERVICE`` deployed to a new digest, and those whose update was undone.
    updated: list[str] = []
    failed: list[str] = []
    items: list[UpdateItem] = []


class UpdatePolicyEntry(BaseModel):
    """One policy set through the API."""

    target: str
    policy: Policy


class UpdatePolicies(BaseModel):
    """``GET /updates/policies``: the effective default and the API's policies."""

    default: Policy
    items: list[UpdatePolicyEntry]
