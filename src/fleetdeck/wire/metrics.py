"""Metrics history and the capacity report, as the server answers them."""

from __future__ import annotations

from pydantic import BaseModel

from fleetdeck.wire.base import IsoDatetime


class MetricName(BaseModel):
    """One metric the store keeps (``GET /metrics/names``)."""

    name: str
    unit: str
    kinds: list[str]
    description: str
    instance: str | None = None


class MetricPoint(BaseModel):
    """One step's average, and the lowest and highest sample in it."""

    time: IsoDatetime
    value: float
    min: float | None = None
    max: float | None = None


class MetricSeries(BaseModel):
    """The points of one instance (a mount point, an interface, or "" for none)."""

    instance: str
    target: str | None = None  # the container's name, for ENV/NODE/* queries
    points: list[MetricPoint]


class MetricsResult(BaseModel):
    """``GET /metrics/query``: a metric's averages per step over ``[start, end)``."""

    target: str
    kind: str
    metric: str
    unit: str
    start: IsoDatetime
    end: IsoDatetime
    step: int
    resolution: str = "raw"
    series: list[MetricSeries]


class CapacityContainer(BaseModel):
    """A running container's p95 use against its limits (None: no data or no limit)."""

    container: str
    cpu_cores_p95: float | None
    cpu_limit_cores: float | None
    memory_working_set_bytes_p95: float | None
    memory_limit_bytes: float | None
    no_limits: list[str]
    limits_far_above_use: list[str]


class CapacityNode(BaseModel):
    """One node's p50/p95 CPU and memory over the window, and its headroom."""

    environment: str
    node: str
    status: str
    step: int
    samples: int
    cpu_count: float | None
    cpu_cores_p50: float | None
    cpu_cores_p95: float | None
    cpu_headroom_cores: float | None
    memory_total_bytes: float | None
    memory_used_bytes_p50: float | None
    memory_used_bytes_p95: float | None
    memory_headroom_bytes: float | None
    containers: list[CapacityContainer]


class CapacityReport(BaseModel):
    """``GET /reports/capacity``: the capacity report over a window."""

    window: str
    start: IsoDatetime
    end: IsoDatetime
    step: int
    oversize_factor: float
    nodes: list[CapacityNode]


class PrometheusTargetGroup(BaseModel):
    """``GET /prometheus/targets``: one group of Prometheus HTTP service discovery.

    Prometheus's own format: the ``host:port`` targets and their labels (all text).
    """

    targets: list[str]
    labels: dict[str, str]
