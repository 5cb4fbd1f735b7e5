"""``fleetdeck heal``: status (``ls``), policies (``policy ls|set|rm``), ``reset``, ``history``.

Bare ``heal`` lists what it watches. A policy's target is ``default`` (the fleet-wide one),
``STACK`` or ``STACK/SERVICE``; the options left out of ``policy set`` are inherited from the
layer below (see docs/healing.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fleetdeck.cli.common import Connection, connected, dump, emit
from fleetdeck.cli.output import print_json, print_table
from fleetdeck.durations import format_duration

if TYPE_CHECKING:
    from fleetdeck.wire.heal import HealContainer, HealPolicies

heal = typer.Typer(help="Auto-heal of unhealthy containers (bare `heal` lists what it watches).")
policy = typer.Typer(help="Heal policies: default, per stack, per service.")
heal.add_typer(policy, name="policy")


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    seconds = (value - datetime.now(UTC)).total_seconds()
    text = format_duration(round(abs(seconds))) or "0s"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _row(c: HealContainer) -> list[str]:
    where = f"{c.environment}/{c.node}/{c.container}"
    restarts = f"{c.restarts_in_window}/{c.policy.max_restarts}"
    when = _when(c.next_restart_at) if c.phase == "waiting" else _when(c.last_restart_at)
    return [where, c.health or "-", c.phase, restarts, when, c.reason]


def _print_status(conn: Connection) -> None:
    with conn.client() as client:
        status = client.heal_status()
    if conn.json:
        print_json(dump(status))
        return
    rows = [_row(c) for c in status.containers]
    print_table(None, ["CONTAINER", "HEALTH", "PHASE", "RESTARTS", "WHEN", "REASON"], rows)
    if status.services:
        services = [
            [f"{s.environment}/{s.service}", str(s.replacements_in_window),
             "crash-looping" if s.crash_looping else "ok", format_duration(s.window)]
            for s in status.services
        ]  # fmt: skip
        print_table("Swarm services", ["SERVICE", "REPLACED", "STATE", "WINDOW"], services)


@heal.callback(invoke_without_command=True)
@connected()
def heal_main(conn: Connection, ctx: typer.Context) -> None:
    """List the containers auto-heal watches (and Swarm services with task churn)."""
    if ctx.invoked_subcommand is None:
        _print_status(conn)


@heal.command("ls")
@connected()
def heal_ls(conn: Connection) -> None:
    """List the containers auto-heal watches: phase, restarts in the window, why."""
    _print_status(conn)


@heal.command("reset")
@connected()
def heal_reset(
    conn: Connection,
    ref: Annotated[str, typer.Argument(help="ENV/CONTAINER, ENV/NODE/CONTAINER or an id.")],
) -> None:
    """Forget a container's crash loop and counted restarts: healing resumes."""
    with conn.client() as client:
        result = client.reset_heal(ref)
    c = result.container
    emit(conn.output, dump(result), f"reset {c.environment}/{c.node}/{c.container}: {c.phase}")


@heal.command("history")
@connected()
def heal_history(
    conn: Connection,
    target: Annotated[
        str | None, typer.Option("--target", help="Only this ENV/NODE/CONTAINER or policy.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
) -> None:
    """What auto-heal did and why, newest first."""
    with conn.client() as client:
        page = client.heal_history(limit=limit, target=target)
    if conn.json:
        print_json(dump(page))
        return
    rows = [
        [e.time.isoformat(timespec="seconds"), e.actor, e.action, e.target, e.result,
         str((e.detail or {}).get("reason", "")) if isinstance(e.detail, dict) else ""]
        for e in page.items
    ]  # fmt: skip
    print_table(None, ["TIME", "ACTOR", "ACTION", "TARGET", "RESULT", "REASON"], rows)


def _print_policies(conn: Connection, policies: HealPolicies) -> None:
    if conn.json:
        print_json(dump(policies))
        return
    default = policies.default
    print_table(
        "Effective default",
        ["FIELD", "VALUE"],
        [[k, str(v)] for k, v in default.model_dump().items()],
    )
    rows = [
        [p.target, p.source, " ".join(f"{k}={v}" for k, v in sorted(p.fields.items()))]
        for p in policies.layers
    ]
    print_table("Layers", ["TARGET", "SOURCE", "FIELDS"], rows)


@policy.command("ls")
@connected()
def policy_ls(conn: Connection) -> None:
    """The effective default and every stored layer (API and Compose)."""
    with conn.client() as client:
        policies = client.heal_policies()
    _print_policies(conn, policies)


TargetArg = Annotated[str, typer.Argument(help="default, STACK or STACK/SERVICE.")]


@policy.command("set")
@connected()
def policy_set(
    conn: Connection,
    target: TargetArg,
    enable: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Heal under this layer or not.")
    ] = None,
    grace: Annotated[
        str | None, typer.Option("--grace", help="Unhealthy this long before the first restart.")
    ] = None,
    backoff: Annotated[
        str | None, typer.Option("--backoff", help="Delay before the 2nd restart; doubles.")
    ] = None,
    backoff_max: Annotated[
        str | None, typer.Option("--backoff-max", help="Longest delay between restarts.")
    ] = None,
    reset_after: Annotated[
        str | None, typer.Option("--reset-after", help="Healthy this long: backoff starts over.")
    ] = None,
    max_restarts: Annotated[
        int | None,
        typer.Option("--max-restarts", min=1, max=100, help="Restarts in --window: crash loop."),
    ] = None,
    window: Annotated[
        str | None, typer.Option("--window", help="The window restarts are counted in.")
    ] = None,
    stop_timeout: Annotated[
        str | None, typer.Option("--stop-timeout", help="Seconds to stop before a kill.")
    ] = None,
) -> None:
    """Set the API layer of a target (fields left out are inherited)."""
    fields: dict[str, Any] = {
        "enabled": enable, "grace": grace, "backoff": backoff, "backoff_max": backoff_max,
        "reset_after": reset_after, "max_restarts": max_restarts, "window": window,
        "stop_timeout": stop_timeout,
    }  # fmt: skip
    with conn.client() as client:
        layer = client.set_heal_policy(target, {k: v for k, v in fields.items() if v is not None})
    text = " ".join(f"{k}={v}" for k, v in sorted(layer.fields.items()))
    emit(conn.output, dump(layer), f"heal policy {layer.target}: {text}")


@policy.command("rm")
@connected()
def policy_rm(conn: Connection, target: TargetArg) -> None:
    """Remove the API layer of a target (the layers below apply again)."""
    with conn.client() as client:
        policies = client.delete_heal_policy(target)
    emit(conn.output, dump(policies), f"removed the heal policy of {target}")
