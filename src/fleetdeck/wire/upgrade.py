"""``POST /api/v1/agents/upgrade``: roll the server's agent build out, one host at a time.

The answer is NDJSON, one :class:`UpgradeEvent` a line: a ``plan`` line (every node and what
would happen to it), then for each node that moves a ``step`` line when it starts and one
with its outcome, and a last ``done`` line with the counts. ``dry_run`` answers the plan
and ``done`` only.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from fleetdeck.wire.base import RequestBody

#: Most environments one request may name.
MAX_ENVIRONMENTS = 500


class UpgradeState(StrEnum):
    """What happens (or happened) to one node's agent."""

    #: Planned: the agent is not on the server's build and will be moved.
    move = "move"
    #: On the server's build already.
    current = "current"
    #: Left alone (``message`` says why: unreachable, newer, too old to upgrade itself…).
    skip = "skip"
    #: The host started moving (``mode``: ``service`` or ``container``).
    upgrading = "upgrading"
    #: Back with the server's build.
    moved = "moved"
    #: The new agent did not come back: the host put the old one back, and it is up again.
    undone = "undone"
    #: Neither new nor old came back in time, or the host refused (``message``).
    failed = "failed"


class AgentUpgradeBody(RequestBody):
    """Which environments (all when empty), and how long a new agent gets to come back."""

    environments: list[str] = Field(default_factory=list, max_length=MAX_ENVIRONMENTS)
    dry_run: bool = False
    timeout_seconds: int = Field(default=120, ge=10, le=1800)


class UpgradeNode(BaseModel):
    """One node in the plan or a step."""

    environment: str
    node: str
    from_version: str | None = None
    to_version: str
    state: UpgradeState
    mode: str | None = None
    message: str | None = None


class UpgradeEvent(BaseModel):
    """One line of the answer."""

    event: str = Field(pattern=r"^(plan|step|done)$")
    target: str | None = None
    nodes: list[UpgradeNode] | None = None
    step: UpgradeNode | None = None
    moved: int | None = None
    undone: int | None = None
    failed: int | None = None
