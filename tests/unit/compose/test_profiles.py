from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fleetdeck.errors import InvalidInputError
from tests.unit.compose.helpers import load, write

if TYPE_CHECKING:
    from pathlib import Path

STACK = """
    services:
      web:
        image: web
        depends_on:
          db: {condition: service_started}
          tracer: {condition: service_started, required: false}
      db:
        image: db
      debug:
        image: tools
        profiles: [debug]
      tracer:
        image: jaeger
        profiles: [tracing, debug]
      admin:
        image: adminer
        profiles: [admin]
        depends_on: [db]
"""


@pytest.mark.parametrize(
    ("profiles", "env", "active"),
    [
        ([], {}, {"web", "db"}),
        (["debug"], {}, {"web", "db", "debug", "tracer"}),
        (["tracing"], {}, {"web", "db", "tracer"}),
        (["admin", "tracing"], {}, {"web", "db", "admin", "tracer"}),
        (["*"], {}, {"web", "db", "debug", "tracer", "admin"}),
        ([], {"COMPOSE_PROFILES": "admin,debug"}, {"web", "db", "admin", "debug", "tracer"}),
    ],
)
def test_profiles_select_services(
    tmp_path: Path, profiles: list[str], env: dict[str, str], active: set[str]
) -> None:
    write(tmp_path, "compose.yaml", STACK)
    project = load(tmp_path, "compose.yaml", profiles=profiles, env=env)
    assert set(project.services) == active


def test_optional_dependency_on_disabled_service_is_dropped(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", STACK)
    project = load(tmp_path, "compose.yaml")
    assert set(project.services["web"].depends_on) == {"db"}


def test_required_dependency_on_disabled_service_is_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        "compose.yaml",
        """
        services:
          web:
            image: web
            depends_on: [metrics]
          metrics:
            image: prom
            profiles: [monitoring]
    """,
    )
    with pytest.raises(InvalidInputError) as info:
        load(tmp_path, "compose.yaml")
    assert "compose.yaml:4" in info.value.message
    assert "depends on 'metrics', which is not enabled (its profiles: monitoring)" in (
        info.value.message
    )
    assert info.value.hint is not None and "--profile monitoring" in info.value.hint
    assert set(load(tmp_path, "compose.yaml", profiles=["monitoring"]).services) == {
        "web",
        "metrics",
    }
