"""``fleetdeck autoscale ls|set|rm|history``: autoscaling policies and their decisions.

A service is ``STACK/SERVICE`` (a managed stack's, on a plain host or a Swarm) or
``ENV/SERVICE`` (a Swarm service). See docs/scaling.md for how decisions are made.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fleetdeck.cli.common import Connection, connected, dump, emit, split_ref
from fleetdeck.cli.output import print_json, print_table

app = typer.Typer(help="Autoscaling policies (HPA's algorithm) and their decisions.")
RefArg = Annotated[str, typer.Argument(help="STACK/SERVICE or ENV/SERVICE")]


def _targets(p: Any) -> str:
    parts = []
    if p.cpu is not None:
        parts.append(f"cpu {p.cpu:g}%")
    if p.memory is not None:
        parts.append(f"memory {p.memory:g}%")
    if p.prometheus:
        parts.append(f"prometheus {p.prometheus} → {p.prometheus_target}")
    return ", ".join(parts)


@app.command("ls")
@connected()
def ls(conn: Connection) -> None:
    """List the policies."""
    with conn.client() as client:
        policies = client.list_autoscale()
    if conn.json:
        print_json([dump(p) for p in policies])
        return
    rows = [[p.target, p.kind, f"{p.min}-{p.max}", _targets(p),
             "recommend-only" if p.recommend_only else "scale", f"{p.scale_down_window_s}s"]
            for p in policies]  # fmt: skip
    print_table(None, ["SERVICE", "KIND", "REPLICAS", "TARGETS", "MODE", "DOWN WINDOW"], rows)


@app.command("set")
@connected()
def set_policy(
    conn: Connection,
    ref: RefArg,
    minimum: Annotated[int, typer.Option("--min", help="Fewest replicas.")],
    maximum: Annotated[int, typer.Option("--max", help="Most replicas.")],
    cpu: Annotated[float | None, typer.Option("--cpu", help="Target CPU % of the limit.")] = None,
    memory: Annotated[
        float | None, typer.Option("--memory", help="Target memory % of the limit.")
    ] = None,
    prometheus: Annotated[
        str | None, typer.Option("--prometheus", help="PromQL: the service's total.")
    ] = None,
    target: Annotated[
        float | None, typer.Option("--target", help="Per-replica target of --prometheus.")
    ] = None,
    recommend_only: Annotated[
        bool, typer.Option("--recommend-only", help="Record decisions, change nothing.")
    ] = False,
    window: Annotated[
        int, typer.Option("--scale-down-window", help="Seconds of low load before a scale-down.")
    ] = 300,
) -> None:
    """Set (or replace) a service's policy."""
    scope, service = split_ref(ref, "service")
    body: dict[str, Any] = {"min": minimum, "max": maximum, "recommend_only": recommend_only,
                            "scale_down_window_s": window}  # fmt: skip
    for key, value in (("cpu", cpu), ("memory", memory), ("prometheus", prometheus),
                       ("target", target)):  # fmt: skip
        if value is not None:
            body[key] = value
    with conn.client() as client:
        policy = client.set_autoscale(scope, service, body)
    emit(conn.output, dump(policy), f"{ref}: {minimum}-{maximum} replicas on {_targets(policy)}")


@app.command("rm")
@connected()
def rm(conn: Connection, ref: RefArg) -> None:
    """Stop autoscaling a service (its replicas stay as they are)."""
    scope, service = split_ref(ref, "service")
    with conn.client() as client:
        client.remove_autoscale(scope, service)
    emit(conn.output, {"ok": True}, f"{ref}: no longer autoscaled")


@app.command("history")
@connected()
def history(
    conn: Connection,
    ref: RefArg,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")] = 20,
) -> None:
    """A service's decisions: time, metric values, current → desired, reason."""
    scope, service = split_ref(ref, "service")
    with conn.client() as client:
        rows = client.autoscale_history(scope, service, limit)
    if conn.json:
        print_json([dump(r) for r in rows])
        return
    table = [[r.at[:19].replace("T", " "), f"{r.current} → {r.desired}",
              "applied" if r.applied else ("-" if r.current == r.desired else "not applied"),
              ", ".join(f"{k} {v.get('value')}" for k, v in r.metrics.items()), r.reason]
             for r in rows]  # fmt: skip
    print_table(None, ["TIME", "REPLICAS", "ACTION", "METRICS", "REASON"], table)
