"""Evaluating a policy's PromQL expression through Prometheus' HTTP API (``/api/v1/query``).

The expression must yield one number (a scalar, or a vector with one sample): the total of
the external metric (e.g. ``sum(rate(fleetdeck_lab_requests_total[1m]))``), which the
autoscaler divides by the per-replica target. An unreachable Prometheus, an error or an
empty result is "no value": nothing is scaled on it.
"""

from __future__ import annotations

import math
from typing import Any

import httpx

from fleetdeck.errors import InvalidInputError, NodeUnreachableError

TIMEOUT_S = 5.0


class PrometheusError(Exception):
    """Prometheus did not give one number; the message says why (shown in the decision)."""


def _number(data: dict[str, Any]) -> float:
    result = data.get("result")
    kind = data.get("resultType")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        value = float(result[1])
    elif kind == "vector" and isinstance(result, list):
        if len(result) != 1:
            raise PrometheusError(f"the query gave {len(result)} series, not one")
        value = float(result[0]["value"][1])
    else:
        raise PrometheusError(f"the query gave a {kind}, not one number")
    if math.isnan(value) or math.isinf(value):
        raise PrometheusError("the query gave NaN or Inf")
    return value


async def query(url: str, expression: str) -> float:
    """The expression's value now; PrometheusError when there is none to use."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            resp = await client.get(f"{url.rstrip('/')}/api/v1/query", params={"query": expression})
    except httpx.HTTPError as exc:
        raise PrometheusError(f"Prometheus at {url} unreachable ({type(exc).__name__})") from exc
    try:
        body = resp.json()
    except ValueError as exc:
        raise PrometheusError(f"Prometheus answered {resp.status_code} without JSON") from exc
    if body.get("status") != "success":
        raise PrometheusError(str(body.get("error") or f"HTTP {resp.status_code}")[:200])
    return _number(body.get("data") or {})


async def check_query(url: str | None, expression: str) -> None:
    """At ``set`` time: Prometheus must be configured, reachable, and parse the expression.

    Raises:
        InvalidInputError: No Prometheus configured, or it refused the expression.
        NodeUnreachableError: Prometheus did not answer.
    """
    if not url:
        raise InvalidInputError(
            "no Prometheus is configured for --prometheus targets",
            hint="set FLEETDECK_AUTOSCALE_PROMETHEUS_URL on the server",
        )
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            resp = await client.get(f"{url.rstrip('/')}/api/v1/query", params={"query": expression})
    except httpx.HTTPError as exc:
        raise NodeUnreachableError(f"Prometheus at {url} is unreachable") from exc
    if resp.status_code == 400:
        try:
            why = str(resp.json().get("error") or "")[:200]
        except ValueError:
            why = ""
        raise InvalidInputError(f"malformed PromQL expression {expression!r}: {why}")
