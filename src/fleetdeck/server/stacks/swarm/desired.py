"""What a stack should be on a Swarm: the applier computes it, provisioning and cleanup use it.

Its own module so that :mod:`~fleetdeck.server.stacks.swarm.provision` and
:mod:`~fleetdeck.server.stacks.swarm.cleanup` can name it without importing the applier that
imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fleetdeck.server.stacks.swarm.objects import DataObject, NetworkObject


@dataclass
class Desired:
    """Everything a stack should be on the Swarm, computed from the project and the target."""

    specs: dict[str, dict[str, Any]]
    networks: dict[str, NetworkObject]
    secrets: dict[str, DataObject]
    configs: dict[str, DataObject]
    images: dict[str, str]
    notes: list[str] = field(default_factory=list)
