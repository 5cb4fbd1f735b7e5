"""``fleetdeck report capacity``: p50/p95 CPU and memory per node, headroom, limits vs use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fleetdeck.cli.common import (
    Connection,
    connected,
    dump,
    human_size,
)
from fleetdeck.cli.output import print_json, print_table

if TYPE_CHECKING:
    from fleetdeck.wire.metrics import CapacityReport

app = typer.Typer(help="Reports over the fleet's metrics history.", no_args_is_help=True)


def _cores(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _print(report: CapacityReport) -> None:
    nodes = [
        [
            f"{n.environment}/{n.node}",
            _cores(n.cpu_count),
            f"{_cores(n.cpu_cores_p50)} / {_cores(n.cpu_cores_p95)}",
            _cores(n.cpu_headroom_cores),
            human_size(n.memory_total_bytes),
            f"{human_size(n.memory_used_bytes_p50)} / {human_size(n.memory_used_bytes_p95)}",
            human_size(n.memory_headroom_bytes),
            str(n.samples),
        ]
        for n in report.nodes
    ]
    title = f"Capacity over {report.window} (percentiles of {report.step}s averages)"
    columns = ["NODE", "CPUS", "CPU P50/P95", "CPU HEADROOM", "MEMORY", "MEM P50/P95"]
    print_table(title, [*columns, "MEM HEADROOM", "POINTS"], nodes)
    rows = []
    oversized = f"limit ≥ {report.oversize_factor:g}× p95 use"
    for n in report.nodes:
        for c in n.containers:
            notes = [f"no {k} limit" for k in c.no_limits]
            notes += [f"{k} {oversized}" for k in c.limits_far_above_use]
            if notes:
                rows.append([f"{n.environment}/{n.node}/{c.container}", ", ".join(notes)])
    if rows:
        print_table("Containers to look at", ["CONTAINER", "WHY"], rows)


@app.command("capacity")
@connected()
def capacity(
    conn: Connection,
    window: Annotated[
        str, typer.Option("--window", "-w", help="How far back: 15m to 90d, e.g. 24h, 7d.")
    ] = "7d",
    environment: Annotated[
        str | None, typer.Option("--env", "-e", help="Only this environment.")
    ] = None,
) -> None:
    """Per node p50/p95 CPU and memory, headroom, containers without limits or oversized ones."""
    with conn.client() as client:
        report = client.capacity_report(window, environment)
    if conn.json:
        print_json(dump(report))
    else:
        _print(report)
