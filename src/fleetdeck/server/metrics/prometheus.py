"""Prometheus: ``/metrics`` with the fleet's current figures, and HTTP service discovery.

For operators who already run Prometheus and Grafana: ``/metrics`` (viewer role; Prometheus
sends the API token as a bearer token) exposes each node's status, container counts by state,
and the latest sample of every host and container metric the agents report, labelled with
environment, node, stack, service and container. ``/api/v1/prometheus/targets`` is an HTTP
service-discovery document listing the containers that declare a metrics port (label
``prometheus.io/port`` or ``fleetdeck.metrics.port``, optional ``prometheus.io/path``) and
publish it, so Prometheus scrapes them directly.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from fleetdeck.server.auth.deps import Principal, require
from fleetdeck.server.context import Ctx  # noqa: TC001 - FastAPI reads route annotations
from fleetdeck.server.loops import LoopState
from fleetdeck.server.metrics.catalog import CONTAINER, HOST, METRICS
from fleetdeck.server.metrics.latest import LatestSamples
from fleetdeck.wire.auth import Role
from fleetdeck.wire.metrics import PrometheusTargetGroup

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client.metrics_core import Metric

    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.loops import LoopRegistry
    from fleetdeck.wire.containers import Container

PORT_LABELS = ("prometheus.io/port", "fleetdeck.metrics.port")
PATH_LABEL = "prometheus.io/path"

router = APIRouter(tags=["prometheus"])
Viewer = Annotated[Principal, Depends(require(Role.viewer))]


class FleetCollector(Collector):
    """Builds the exposition from the in-memory inventory and the latest samples."""

    def __init__(self, fleet: Fleet, latest: LatestSamples) -> None:
        self.fleet = fleet
        self.latest = latest

    def collect(self) -> Iterator[Metric]:
        """Every family, fresh on each scrape."""
        yield from self._inventory_families()
        yield from self._sample_families()

    def _inventory_families(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "fleetdeck_node_up",
            "1 when the node's agent and engine answer, else 0",
            labels=["environment", "node", "status"],
        )
        counts = GaugeMetricFamily(
            "fleetdeck_containers", "containers by state", labels=["environment", "node", "state"]
        )
        for state in self.fleet.inventory.nodes():
            up.add_metric(
                [state.environment, state.node, state.status.value],
                1.0 if state.status.value == "up" else 0.0,
            )
            by_state = Counter(c.state for c in state.containers.values())
            for name, count in sorted(by_state.items()):
                counts.add_metric([state.environment, state.node, name], float(count))
        yield up
        yield counts

    def _container_labels(self) -> dict[str, tuple[str, str]]:
        labels = {}
        for state in self.fleet.inventory.nodes():
            for c in state.containers.values():
                labels[c.id] = (c.stack or "", c.service or "")
        return labels

    def _sample_families(self) -> Iterator[Metric]:
        families: dict[tuple[str, str], GaugeMetricFamily] = {}
        stacks = self._container_labels()
        for environment, node, rows in self.latest.items():
            for kind, target_id, target_name, name, instance, value in rows:
                info = METRICS[name]
                labels = ["environment", "node"]
                values = [environment, node]
                if kind == CONTAINER:
                    stack, service = stacks.get(target_id, ("", ""))
                    labels += ["stack", "service", "container"]
                    values += [stack, service, target_name]
                if info.instance:
                    labels.append(info.instance)
                    values.append(instance)
                key = (kind, name)
                if key not in families:
                    unit = f" ({info.unit})" if info.unit else ""
                    families[key] = GaugeMetricFamily(
                        f"fleetdeck_{kind}_{name}", f"{info.description}{unit}", labels=labels
                    )
                families[key].add_metric(values, value)
        yield from families.values()


class LoopCollector(Collector):
    """The server's background loops: state, restarts, last success and failure, next run."""

    def __init__(self, loops: LoopRegistry) -> None:
        self.loops = loops

    def collect(self) -> Iterator[Metric]:
        """One sample per loop and family, fresh on each scrape."""
        up = GaugeMetricFamily(
            "fleetdeck_loop_up", "1 while the loop runs or waits for its next run, else 0",
            labels=["loop", "state"],
        )  # fmt: skip
        restarts = CounterMetricFamily(
            "fleetdeck_loop_restarts", "times the loop's work raised and was run again",
            labels=["loop"],
        )  # fmt: skip
        times = {
            "last_ok": GaugeMetricFamily(
                "fleetdeck_loop_last_ok_timestamp_seconds",
                "when the loop's last step succeeded (epoch seconds)", labels=["loop"],
            ),
            "last_error_at": GaugeMetricFamily(
                "fleetdeck_loop_last_error_timestamp_seconds",
                "when the loop's work last raised (epoch seconds)", labels=["loop"],
            ),
            "next_run": GaugeMetricFamily(
                "fleetdeck_loop_next_run_timestamp_seconds",
                "when the loop runs next (epoch seconds)", labels=["loop"],
            ),
        }  # fmt: skip
        for status in self.loops.statuses():
            running = status.state in (LoopState.running, LoopState.standby)
            up.add_metric([status.name, status.state], 1.0 if running else 0.0)
            restarts.add_metric([status.name], float(status.restarts))
            for key, family in times.items():
                value = getattr(status, key)
                if value is not None:
                    family.add_metric([status.name], float(value))
        yield up
        yield restarts
        yield from times.values()


def make_registry(
    fleet: Fleet, latest: LatestSamples, loops: LoopRegistry | None = None
) -> CollectorRegistry:
    """A registry of the fleet's collector and the loops' (no process metrics of the server)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(fleet, latest))
    if loops is not None:
        registry.register(LoopCollector(loops))
    return registry


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(ctx: Ctx, _: Viewer) -> Response:
    """The fleet's current figures in Prometheus' text format."""
    body = generate_latest(ctx.prometheus_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _target(container: Container, address: str) -> dict[str, Any] | None:
    declared = next((container.labels[k] for k in PORT_LABELS if k in container.labels), None)
    if declared is None or not declared.isdigit():
        return None
    published = next(
        (
            p.public_port
            for p in container.ports
            if p.private_port == int(declared) and p.public_port
        ),
        None,
    )
    if published is None:
        return None
    labels = {
        "__metrics_path__": container.labels.get(PATH_LABEL, "/metrics"),
        "environment": container.environment,
        "node": container.node,
        "container": container.name,
        "stack": container.stack or "",
        "service": container.service or "",
    }
    return {"targets": [f"{address}:{published}"], "labels": labels}


def discovery(fleet: Fleet) -> list[dict[str, Any]]:
    """The HTTP service-discovery document: one target group per scrapeable container."""
    from fleetdeck.server.fleet.inventory import ContainerQuery

    addresses = {
        (view.name, node.name): node.address or "127.0.0.1"
        for view in fleet.views()
        for node in view.nodes
    }
    items, _ = fleet.inventory.containers(ContainerQuery(state="running", limit=5000))
    groups = []
    for container in items:
        address = addresses.get((container.environment, container.node))
        group = _target(container, address) if address else None
        if group is not None:
            groups.append(group)
    return groups


@router.get("/api/v1/prometheus/targets", response_model=list[PrometheusTargetGroup])
async def prometheus_targets(ctx: Ctx, _: Viewer) -> list[dict[str, Any]]:
    """Prometheus HTTP service discovery: containers that declare and publish a metrics port."""
    return discovery(ctx.fleet)


__all__ = ["HOST", "LatestSamples", "LoopCollector", "make_registry", "router"]
