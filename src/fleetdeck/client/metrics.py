"""Client methods for metrics history (``/metrics/query``, ``/metrics/names``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.client.base import BaseClient
from fleetdeck.wire.metrics import CapacityReport, MetricName, MetricsResult

if TYPE_CHECKING:
    from datetime import datetime


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
