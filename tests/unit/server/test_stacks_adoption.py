"""Discovery of unmanaged Compose projects and Swarm stacks, and the checks before adoption."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fleetdeck.errors import ConflictError, NotFoundError
from fleetdeck.server.stacks.adoption import (
    adoption_warnings,
    discover,
    find_unmanaged,
)
from fleetdeck.server.stacks.plan import TargetKind
from fleetdeck.wire.containers import Container

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def _container(
    name: str, labels: dict[str, str], *, env: str = "node1", state: str = "running"
) -> Container:
    return Container(
        id=name + "0" * 12,
        name=name,
        image="web:1",
        state=state,
        created=NOW,
        labels=labels,
        environment=env,
        node="node1",
    )


def _compose(project: str, service: str, **kw: str) -> dict[str, str]:
    return {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.version": "1.29.2",
        **kw,
    }


FLEET = [
    _container("demo_web_1", _compose("demo", "web")),
    _container("demo_web_2", _compose("demo", "web"), state="exited"),
    _container("demo_db_1", _compose("demo", "db")),
    _container("demo_run_1", _compose("demo", "web") | {"com.docker.compose.oneoff": "True"}),
    _container("plain", {}),
    _container("other_api_1", _compose("other", "api"), env="node2"),
    _container(
        "mon_prom.1.abc",
        {"com.docker.stack.namespace": "mon", "com.docker.swarm.service.name": "mon_prom"},
        env="swarm",
    ),
]


def test_discover_groups_by_environment_and_project() -> None:
    found = discover(FLEET)
    assert [(s.environment, s.name, s.kind) for s in found] == [
        ("node1", "demo", TargetKind.host),
        ("node2", "other", TargetKind.host),
        ("swarm", "mon", TargetKind.swarm),
    ]
    demo = found[0]
    assert demo.services == {"web", "db"}
    assert (demo.containers, demo.running, demo.status) == (3, 2, "partial")
    assert demo.made_by == "docker compose 1.29.2"
    entry = demo.to_json()
    assert entry["managed"] is False and entry["revision"] is None and entry["services"] == 2
    assert found[2].services == {"prom"}
    assert found[2].to_discovered().services == ["prom"]


def test_managed_stacks_are_not_offered() -> None:
    names = [(s.environment, s.name) for s in discover(FLEET, managed=[("node1", "demo")])]
    assert ("node1", "demo") not in names and ("node2", "other") in names


def test_find_unmanaged_explains_what_is_wrong() -> None:
    assert find_unmanaged(FLEET, "demo", "node1").name == "demo"
    with pytest.raises(NotFoundError) as where:
        find_unmanaged(FLEET, "other", "node1")
    assert where.value.hint == "it runs on: node2"
    with pytest.raises(ConflictError):
        find_unmanaged(FLEET, "demo", "node1", managed=[("node1", "demo")])


def test_adoption_warnings_name_orphans_and_new_services() -> None:
    demo = find_unmanaged(FLEET, "demo", "node1")
    warnings = adoption_warnings(demo, ["web", "cache"])
    assert any("'db'" in w and "removes" in w for w in warnings)
    assert any("'cache'" in w and "creates" in w for w in warnings)
    assert adoption_warnings(demo, ["web", "db"]) == []
