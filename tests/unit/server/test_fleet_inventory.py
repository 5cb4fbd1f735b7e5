from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fleetdeck.errors import ConflictError, InvalidInputError, NotFoundError
from fleetdeck.server.fleet.inventory import ContainerQuery, FleetInventory, NodeStatus


def _container(cid: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "image": "img",
        "state": "running",
        "created": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
        **extra,
    }


def _info(engine_state: str = "up") -> dict[str, Any]:
    return {"hostname": "h", "engine_state": engine_state}


def _inventory() -> FleetInventory:
    inv = FleetInventory()
    inv.apply(
        "prod",
        "n1",
        {
            "type": "snapshot",
            "rev": 1,
            "info": _info(),
            "containers": [
                _container("aaa111", "web", labels={"tier": "front"}, stack="shop"),
                _container("bbb222", "db", state="exited"),
            ],
        },
    )
    inv.apply(
        "lab",
        "n2",
        {
            "type": "snapshot",
            "rev": 1,
            "info": _info(),
            "containers": [
                _container("ccc333", "web", health="unhealthy"),
            ],
        },
    )
    return inv


def test_snapshot_replaces_and_deltas_update() -> None:
    inv = _inventory()
    inv.apply("prod", "n1", {"type": "upsert", "rev": 2, "container": _container("ddd444", "x")})
    inv.apply("prod", "n1", {"type": "delete", "rev": 3, "id": "bbb222"})
    names = sorted(c.name for c in inv.containers(ContainerQuery())[0])
    assert names == ["web", "web", "x"]
    # A reconnect's snapshot replaces the node's part: nothing duplicated, nothing stale.
    inv.apply(
        "prod",
        "n1",
        {
            "type": "snapshot",
            "rev": 1,
            "info": _info(),
            "containers": [_container("aaa111", "web")],
        },
    )
    page, total = inv.containers(ContainerQuery(environment="prod"))
    assert total == 1 and page[0].id == "aaa111"


def test_filters_sort_and_paging() -> None:
    inv = _inventory()
    assert inv.containers(ContainerQuery(state="exited"))[1] == 1
    assert inv.containers(ContainerQuery(labels=("tier=front",)))[0][0].id == "aaa111"
    assert inv.containers(ContainerQuery(labels=("tier",)))[1] == 1
    assert inv.containers(ContainerQuery(stack="shop"))[1] == 1
    assert inv.containers(ContainerQuery(health="unhealthy"))[0][0].environment == "lab"
    assert inv.containers(ContainerQuery(health="none"))[1] == 2
    assert inv.containers(ContainerQuery(name="WE"))[1] == 2
    page, total = inv.containers(ContainerQuery(sort="environment", limit=1, offset=1))
    assert total == 3 and page[0].environment == "prod"
    first = inv.containers(ContainerQuery(sort="name", descending=True))[0][0]
    assert first.name == "web"


@pytest.mark.parametrize(
    "query",
    [
        ContainerQuery(sort="bogus"),
        ContainerQuery(limit=0),
        ContainerQuery(offset=-1),
        ContainerQuery(labels=("=x",)),
        ContainerQuery(state="bogus"),
        ContainerQuery(health="bogus"),
    ],
)
def test_bad_queries_are_invalid_input(query: ContainerQuery) -> None:
    with pytest.raises(InvalidInputError):
        _inventory().containers(query)


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        (ContainerQuery(state="bogus"), "running, exited, restarting, paused, created, dead"),
        (ContainerQuery(health="bogus"), "healthy, unhealthy, starting, none"),
    ],
)
def test_an_unknown_state_or_health_names_the_valid_ones(
    query: ContainerQuery, listed: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        _inventory().containers(query)
    assert listed in (caught.value.hint or "")


def test_resolve_by_env_name_prefix_and_ambiguity() -> None:
    inv = _inventory()
    envs = {"prod", "lab"}
    assert inv.resolve("prod/web", envs).id == "aaa111"
    assert inv.resolve("lab/n2/web", envs).id == "ccc333"
    assert inv.resolve("bbb2", envs).name == "db"
    with pytest.raises(ConflictError, match="several containers"):
        inv.resolve("web", envs)
    with pytest.raises(NotFoundError, match="no environment 'nope'"):
        inv.resolve("nope/web", envs)
    with pytest.raises(NotFoundError, match="no container 'zzz'"):
        inv.resolve("prod/zzz", envs)


def test_status_follows_engine_and_reachability() -> None:
    inv = _inventory()
    assert inv.node("prod", "n1").status is NodeStatus.up
    inv.apply("prod", "n1", {"type": "info", "rev": 5, "info": _info("down")})
    assert inv.node("prod", "n1").status is NodeStatus.engine_down
    inv.mark_unreachable("prod", "n1", "timed out")
    state = inv.node("prod", "n1")
    assert state.status is NodeStatus.unreachable and state.error == "timed out"
    assert len(state.containers) == 2  # last known inventory kept while unreachable
