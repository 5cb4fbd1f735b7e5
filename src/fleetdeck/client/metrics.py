"""Client methods for metrics history (``/metrics/query``, ``/metrics/names``)."""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - pydantic needs it at run time

from pydantic import BaseModel

from fleetdeck.client.base import BaseClient


class MetricPoint(BaseModel):
    """One step's average, and the lowest and highest sample in it."""

    time: datetime
    value: float
    min: float | None = None
    max: float | None = None


class MetricSeries(BaseModel):
    """The points of one instance (mount point, interface, or "" when the metric has none)."""

    instance: str
    target: str | None = None  # the container's name, for ENV/NODE/* queries
    points: list[MetricPoint]


class MetricsResult(BaseModel):
    """The answer of a metrics query."""

    target: str
    kind: str
    metric: str
    unit: str
    start: datetime
    end: datetime
    step: int
    resolution: str = "raw"
    series: list[MetricSeries]


class MetricName(BaseModel):
    """A metric the server keeps."""

    name: str
    unit: str
    kinds: list[str]
    description: str
    instance: str | None = None


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
    """The capacity report over a window."""

    window: str
    start: datetime
    end: datetime
    step: int
    oversize_factor: float
    nodes: list[CapacityNode]


class MetricsAPI(BaseClient):
    """Routes under ``/metrics``."""

    def query_metrics(
        self,
        target: str,
        metric: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        step: int | None = None,
    ) -> MetricsResult:
        """``GET /metrics/query``: ``metric`` of ``ENV/NODE[/CONTAINER]`` averaged per step."""
        params = {
            "target": target,
            "metric": metric,
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
            "step": step,
        }
        return MetricsResult.model_validate(self._request("GET", "/metrics/query", params=params))

    def metric_names(self) -> list[MetricName]:
        """``GET /metrics/names``."""
        return [MetricName.model_validate(m) for m in self._request("GET", "/metrics/names")]

    def capacity_report(self, window: str = "7d", environment: str | None = None) -> CapacityReport:
        """``GET /reports/capacity``: p50/p95 CPU and memory per node, headroom, limits."""
        params = {"window": window, "environment": environment}
        return CapacityReport.model_validate(
            self._request("GET", "/reports/capacity", params=params)
        )
