"""``target=ENV`` names the host of a single-node environment; several nodes are refused."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from fleetdeck.errors import InvalidInputError, NotFoundError
from fleetdeck.server.metrics.api import single_node_target


@dataclass
class _Node:
    name: str


@dataclass
class _View:
    nodes: list[_Node] = field(default_factory=list)


class _Fleet:
    """The two FleetService calls the resolution makes (a fake at that boundary)."""

    def __init__(self, envs: dict[str, list[str]]) -> None:
        self.envs = envs

    def require_environment(self, name: str) -> str:
        if name not in self.envs:
            raise NotFoundError(f"no environment {name!r}")
        return name

    def view(self, env: str) -> _View:
        return _View([_Node(n) for n in self.envs[env]])


FLEET = _Fleet({"home": ["nas"], "swarm": ["m1", "w1"], "new": []})


def test_a_single_node_environment_alone_is_its_host() -> None:
    assert single_node_target(FLEET, "home") == "home/nas"
    assert single_node_target(FLEET, "home/") == "home/nas"


def test_targets_with_a_node_are_left_alone() -> None:
    assert single_node_target(FLEET, "swarm/m1") == "swarm/m1"
    assert single_node_target(FLEET, "home/nas/web") == "home/nas/web"


def test_several_nodes_or_none_are_refused_with_what_to_use() -> None:
    with pytest.raises(InvalidInputError) as several:
        single_node_target(FLEET, "swarm")
    assert several.value.hint == "use swarm/m1, swarm/w1"
    with pytest.raises(InvalidInputError, match="no node yet"):
        single_node_target(FLEET, "new")
    with pytest.raises(NotFoundError):
        single_node_target(FLEET, "nowhere")
