"""``fleetdeck metrics TARGET``: a metric's history from the server's store; ``metrics names``.

TARGET is ``ENV/NODE`` (the host), ``ENV/NODE/CONTAINER``, or just ``ENV`` when the
environment has one node. Tables print byte counts and rates human-sized (``1.5 GiB``,
``12.0 KiB/s``); ``-o json`` keeps the raw numbers and the unit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from fleetdeck.cli.common import (
    Connection,
    connected,
    dump,
)
from fleetdeck.cli.output import print_json, print_table
from fleetdeck.durations import parse_duration

#: ``fleetdeck metrics names`` lists the metrics instead of querying a target of that name
#: (an environment called ``names`` is still reachable as ``names/NODE``).
NAMES = "names"
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_value(value: float, unit: str) -> str:
    """A metric's value for people: bytes in binary multiples, percentages with ``%``."""
    if unit in ("bytes", "bytes/s"):
        size, prefix = float(value), 0
        while abs(size) >= 1024 and prefix < len(_BINARY) - 1:
            size /= 1024
            prefix += 1
        number = f"{size:.0f}" if prefix == 0 else f"{size:.1f}"
        return f"{number} {_BINARY[prefix]}{'/s' if unit == 'bytes/s' else ''}"
    if unit == "%":
        return f"{value:.1f}%"
    return f"{value:.4g}"


@connected()
def metrics(
    conn: Connection,
    target: Annotated[
        str,
        typer.Argument(
            help="ENV/NODE (the host), ENV/NODE/CONTAINER, ENV of a single-node environment, "
            "or 'names' to list the metrics."
        ),
    ],
    metric: Annotated[
        str,
        typer.Option("--metric", "-m", help="Metric name, e.g. cpu_cores (see: metrics names)."),
    ] = "cpu_cores",
    since: Annotated[str, typer.Option("--since", help="How far back, e.g. 15m, 6h, 7d.")] = "15m",
    step: Annotated[
        int | None, typer.Option("--step", help="Seconds per point (default: automatic).")
    ] = None,
) -> None:
    """Show a metric's history (averages per step) for a host or a container."""
    if target == NAMES:
        _names(conn)
        return
    end = datetime.now(UTC)
    start = end - parse_duration(since)
    with conn.client() as client:
        result = client.query_metrics(target, metric, start=start, end=end, step=step)
    if conn.json:
        print_json(dump(result))
        return
    rows = [
        [
            point.time.isoformat(timespec="seconds"),
            s.instance,
            human_value(point.value, result.unit),
        ]
        for s in result.series
        for point in s.points
    ]
    title = (
        f"{result.metric} ({result.unit or 'count'}) of {result.target}, "
        f"step {result.step}s from {result.resolution} data"
    )
    print_table(title, ["TIME", "INSTANCE", "VALUE"], rows)


def _names(conn: Connection) -> None:
    with conn.client() as client:
        names = client.metric_names()
    if conn.json:
        print_json([dump(n) for n in names])
        return
    rows = [
        [n.name, n.unit or "count", ", ".join(n.kinds), n.instance or "", n.description]
        for n in names
    ]
    print_table(None, ["NAME", "UNIT", "FOR", "PER", "DESCRIPTION"], rows)
