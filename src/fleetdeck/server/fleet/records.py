"""Environments and nodes as the store keeps them.

Their own module because the fleet service, its views and the local environments all use
them: kept in ``service`` they tied those three modules into an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class NodeRecord:
    """A node as the store keeps it."""

    name: str
    hostname: str
    agent_url: str
    cert_serial: str
    enrolled_at: datetime
    #: What its agent last reported: package version, protocol, commit (None: never yet).
    agent_version: str | None = None
    agent_protocol: int | None = None
    agent_commit: str | None = None


@dataclass
class EnvironmentRecord:
    """An environment as the store keeps it."""

    name: str
    kind: str
    tags: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    nodes: list[NodeRecord] = field(default_factory=list)
    #: The engine socket of a ``local`` environment (``unix:///path``); None for ``agent``.
    docker_host: str | None = None
