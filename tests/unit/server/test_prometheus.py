"""``/metrics`` and Prometheus HTTP service discovery, on the real app with a fed inventory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.server.context import context_of
from fleetdeck.server.metrics.prometheus import _target
from fleetdeck.wire.containers import Container
from tests.unit.server.conftest import bearer
from tests.unit.server.test_metrics_history import message

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI


def _snapshot(containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "snapshot", "rev": 1, "info": {"hostname": "n1"}, "containers": containers}


def _container(cid: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "image": "img",
        "state": "running",
        "created": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
        **extra,
    }


async def test_metrics_exposes_status_counts_and_latest_samples(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    inventory = context_of(app).fleet.inventory
    inventory.apply(
        "prod",
        "n1",
        _snapshot(
            [
                _container("c1abcdef", "web", stack="shop", service="web"),
                _container("c2", "old", state="exited"),
            ]
        ),
    )
    inventory.apply("prod", "n1", message(datetime.now(UTC), 1.5))
    assert (await client.get("/metrics")).status_code == 401
    response = await client.get("/metrics", headers=bearer(admin_token))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'fleetdeck_node_up{environment="prod",node="n1",status="up"} 1.0' in text
    assert 'fleetdeck_containers{environment="prod",node="n1",state="exited"} 1.0' in text
    assert (
        'fleetdeck_container_cpu_cores{container="web",environment="prod",node="n1",'
        'service="web",stack="shop"} 1.5'
    ) in text
    assert 'fleetdeck_host_fs_used_percent{environment="prod",mount="/data",node="n1"} 70.0' in text
    assert "unknown_metric" not in text


async def test_an_older_replayed_batch_does_not_replace_the_newest(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    inventory = context_of(app).fleet.inventory
    inventory.apply("prod", "n1", message(datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC), 3.0))
    inventory.apply("prod", "n1", message(datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC), 1.0))
    text = (await client.get("/metrics", headers=bearer(admin_token))).text
    assert 'container="web",environment="prod",node="n1",service="",stack=""} 3.0' in text


def test_a_target_needs_a_declared_and_published_metrics_port() -> None:
    def container(**extra: Any) -> Container:
        return Container.model_validate(
            {**_container("a1", "api", stack="shop", **extra), "environment": "prod", "node": "n1"}
        )

    group = _target(
        container(
            labels={"prometheus.io/port": "9100", "prometheus.io/path": "/m"},
            ports=[{"private_port": 9100, "public_port": 19100}],
        ),
        "10.0.0.5",
    )
    assert group == {
        "targets": ["10.0.0.5:19100"],
        "labels": {
            "__metrics_path__": "/m",
            "environment": "prod",
            "node": "n1",
            "container": "api",
            "stack": "shop",
            "service": "",
        },
    }
    fleetdeck_label = container(
        labels={"fleetdeck.metrics.port": "8080"},
        ports=[{"private_port": 8080, "public_port": 8080}],
    )
    assert _target(fleetdeck_label, "h")["targets"] == ["h:8080"]  # type: ignore[index]
    unpublished = container(labels={"prometheus.io/port": "9100"}, ports=[{"private_port": 9100}])
    assert _target(unpublished, "h") is None
    assert _target(container(), "h") is None
    assert _target(container(labels={"prometheus.io/port": "x"}), "h") is None


async def test_service_discovery_needs_a_login(client: httpx.AsyncClient, admin_token: str) -> None:
    assert (await client.get("/api/v1/prometheus/targets")).status_code == 401
    answer = await client.get("/api/v1/prometheus/targets", headers=bearer(admin_token))
    assert answer.status_code == 200 and answer.json() == []
