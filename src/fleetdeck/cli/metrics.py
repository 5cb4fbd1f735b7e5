"""``fleetdeck metrics ENV/NODE[/CONTAINER]``: a metric's history from the server's store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from fleetdeck.cli.common import CaCertOpt, OutputOpt, TokenOpt, UrlOpt, client_from, dump
from fleetdeck.cli.output import OutputFormat, print_json, print_table
from fleetdeck.durations import parse_duration


def metrics(
    target: Annotated[str, typer.Argument(help="ENV/NODE (the host) or ENV/NODE/CONTAINER.")],
    metric: Annotated[
        str, typer.Option("--metric", "-m", help="Metric name, e.g. cpu_cores.")
    ] = "cpu_cores",
    since: Annotated[str, typer.Option("--since", help="How far back, e.g. 15m, 6h, 7d.")] = "15m",
    step: Annotated[
        int | None, typer.Option("--step", help="Seconds per point (default: automatic).")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Show a metric's history (averages per step) for a host or a container."""
    end = datetime.now(UTC)
    start = end - parse_duration(since)
    with client_from(url, token, ca_cert) as client:
        result = client.query_metrics(target, metric, start=start, end=end, step=step)
    if output is OutputFormat.json:
        print_json(dump(result))
        return
    rows = [
        [point.time.isoformat(timespec="seconds"), s.instance, f"{point.value:.4g}"]
        for s in result.series
        for point in s.points
    ]
    title = (
        f"{result.metric} ({result.unit or 'count'}) of {result.target}, "
        f"step {result.step}s from {result.resolution} data"
    )
    print_table(title, ["TIME", "INSTANCE", "VALUE"], rows)
