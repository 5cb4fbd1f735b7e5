from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fleetdeck.compose import startup_order
from fleetdeck.compose.model import Project
from fleetdeck.errors import InvalidInputError
from tests.unit.compose.helpers import load, write

if TYPE_CHECKING:
    from pathlib import Path


def test_levels_group_independent_services(tmp_path: Path) -> None:
    write(
        tmp_path,
        "compose.yaml",
        """
        services:
          proxy: {image: x, depends_on: [web, api]}
          web: {image: x, depends_on: {db: {condition: service_healthy}}}
          api: {image: x, depends_on: [db, cache]}
          worker: {image: x, depends_on: [cache]}
          db: {image: x}
          cache: {image: x}
          sidecar: {image: x, network_mode: "service:api"}
          lone: {image: x}
    """,
    )
    assert startup_order(load(tmp_path, "compose.yaml")) == [
        ["cache", "db", "lone"],
        ["api", "web", "worker"],
        ["proxy", "sidecar"],
    ]


def test_cycle_is_named() -> None:
    project = Project.model_validate(
        {
            "services": {
                "a": {"image": "x", "depends_on": ["b"]},
                "b": {"image": "x", "depends_on": ["a"]},
                "c": {"image": "x"},
            }
        }
    )
    with pytest.raises(InvalidInputError, match=r"dependency cycle between services: a -> b -> a"):
        startup_order(project)
