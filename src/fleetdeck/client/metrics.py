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
