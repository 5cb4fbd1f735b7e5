"""A Swarm service's CPU % for the autoscaler: of its limit, else of its reservation."""

from __future__ import annotations

from typing import Any

import pytest

from fleetdeck.server.autoscale.observe import of_reservation, reserved_cores


def _service(limit: int | None = None, reservation: int | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if limit is not None:
        resources["Limits"] = {"NanoCPUs": limit}
    if reservation is not None:
        resources["Reservations"] = {"NanoCPUs": reservation}
    return {"name": "api", "Spec": {"TaskTemplate": {"Resources": resources}}}


@pytest.mark.parametrize(
    ("service", "cores"),
    [
        (_service(reservation=250_000_000), 0.25),
        (_service(limit=500_000_000, reservation=250_000_000), None),  # the limit wins
        (_service(limit=500_000_000), None),
        (_service(), None),
        (_service(reservation=0), None),
        ({"name": "api"}, None),  # no Spec at all
        ({"Spec": {"TaskTemplate": {"Resources": {"Reservations": {"NanoCPUs": "x"}}}}}, None),
    ],
)
def test_reserved_cores_only_without_a_limit(service: dict[str, Any], cores: float | None) -> None:
    assert reserved_cores(service) == cores


def test_cpu_percent_of_the_reservation() -> None:
    # 0.2 cores used of 0.25 reserved is 80 %, whatever the agent said of the host's CPUs.
    figures = {"cpu_percent": 10.0, "cpu_cores": 0.2, "memory_percent": 30.0}
    out = of_reservation(figures, 0.25)
    assert out["cpu_percent"] == pytest.approx(80.0)
    assert out["memory_percent"] == 30.0
    assert figures["cpu_percent"] == 10.0  # not changed in place


def test_cpu_percent_kept_without_a_reservation_or_cores() -> None:
    figures = {"cpu_percent": 10.0, "cpu_cores": 0.2}
    assert of_reservation(figures, None) == figures
    assert of_reservation({"cpu_percent": 10.0}, 0.25) == {"cpu_percent": 10.0}
