"""``fleetdeck metrics ENV/NODE[/CONTAINER]``: a metric's history from the server's store."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from fleetdeck.cli.common import CaCertOpt, OutputOpt, TokenOpt, UrlOpt, client_from, dump
from fleetdeck.cli.output import OutputFormat, print_json, print_table
from fleetdeck.errors import InvalidInputError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``6h``, ``7d``, ``2w`` as a timedelta, else InvalidInputError."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise InvalidInputError(f"bad duration {text!r}", hint="use e.g. 30s, 15m, 6h, 7d")
    return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])


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
