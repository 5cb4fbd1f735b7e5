"""``fleetdeck silence`` (silences and maintenance windows) and ``fleetdeck channels``."""

from __future__ import annotations

from typing import Annotated

import typer

from fleetdeck.cli.common import (
    Connection,
    connected,
    dump,
    emit,
)
from fleetdeck.cli.output import print_json, print_table

silence = typer.Typer(help="Silences and maintenance windows (bare `silence` lists silences).")
maintenance = typer.Typer(help="Maintenance windows: an environment's alerts page nobody.")
channels = typer.Typer(help="Notification channels (Apprise URLs; bare `channels` lists them).")
silence.add_typer(maintenance, name="maintenance")

DurationOpt = Annotated[str, typer.Option("--for", "-d", help="How long (30m, 2h, 1d).")]


def _print_silences(conn: Connection) -> None:
    with conn.client() as client:
        items = client.list_silences()
    if conn.json:
        print_json([dump(s) for s in items])
        return
    rows = [[s.id[:12], s.state, " ".join(s.matchers), s.ends_at.isoformat(timespec="seconds"),
             s.created_by, s.comment] for s in items]  # fmt: skip
    print_table(None, ["ID", "STATE", "MATCHERS", "ENDS", "BY", "COMMENT"], rows)


@silence.callback(invoke_without_command=True)
@connected()
def silence_main(
    conn: Connection,
    ctx: typer.Context,
) -> None:
    """List silences (same as `silence ls`)."""
    if ctx.invoked_subcommand is None:
        _print_silences(conn)


@silence.command("ls")
@connected()
def silence_ls(
    conn: Connection,
) -> None:
    """List silences (active, pending, expired)."""
    _print_silences(conn)


@silence.command("add")
@connected()
def silence_add(
    conn: Connection,
    matchers: Annotated[list[str], typer.Argument(help="NAME=VALUE, NAME!=VALUE, NAME=~RE…")],
    duration: DurationOpt = "2h",
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why.")] = "",
) -> None:
    """Silence alerts matching every matcher: `silence add rule=host-cpu-high node=n1 --for 1h`."""
    with conn.client() as client:
        created = client.create_silence(matchers, duration=duration, comment=comment)
    emit(conn.output, dump(created), f"silence {created.id} until {created.ends_at.isoformat()}")


@silence.command("rm")
@connected()
def silence_rm(
    conn: Connection,
    silence_id: Annotated[str, typer.Argument(help="Silence id.")],
) -> None:
    """End a silence now."""
    with conn.client() as client:
        ended = client.expire_silence(silence_id)
    emit(conn.output, dump(ended), f"silence {ended.id} ended")


@maintenance.command("ls")
@connected()
def maintenance_ls(
    conn: Connection,
) -> None:
    """List maintenance windows."""
    with conn.client() as client:
        items = client.list_maintenance()
    if conn.json:
        print_json([dump(m) for m in items])
        return
    rows = [[m.id[:12], m.state, m.environment, m.ends_at.isoformat(timespec="seconds"),
             m.created_by, m.reason] for m in items]  # fmt: skip
    print_table(None, ["ID", "STATE", "ENVIRONMENT", "ENDS", "BY", "REASON"], rows)


@maintenance.command("add")
@connected()
def maintenance_add(
    conn: Connection,
    environment: Annotated[str, typer.Argument(help="Environment under maintenance.")],
    duration: DurationOpt = "2h",
    reason: Annotated[str, typer.Option("--reason", "-m", help="Why.")] = "",
) -> None:
    """Put an environment under maintenance: its alerts page nobody until the end."""
    with conn.client() as client:
        created = client.create_maintenance(environment, duration=duration, reason=reason)
    emit(
        conn.output,
        dump(created),
        f"maintenance {created.id} on {environment} until {created.ends_at.isoformat()}",
    )


@maintenance.command("rm")
@connected()
def maintenance_rm(
    conn: Connection,
    window_id: Annotated[str, typer.Argument(help="Maintenance window id.")],
) -> None:
    """End a maintenance window now."""
    with conn.client() as client:
        ended = client.end_maintenance(window_id)
    emit(conn.output, dump(ended), f"maintenance {ended.id} ended")


# ---------------------------------------------------------------- channels
def _print_channels(conn: Connection) -> None:
    with conn.client() as client:
        items = client.list_channels()
    if conn.json:
        print_json([dump(c) for c in items])
        return
    rows = [[c.name, c.kind, "on" if c.enabled else "off", c.min_severity, c.url] for c in items]
    print_table(None, ["NAME", "KIND", "ENABLED", "MIN SEVERITY", "URL (masked)"], rows)


@channels.callback(invoke_without_command=True)
@connected()
def channels_main(
    conn: Connection,
    ctx: typer.Context,
) -> None:
    """List channels (same as `channels ls`)."""
    if ctx.invoked_subcommand is None:
        _print_channels(conn)


@channels.command("ls")
@connected()
def channels_ls(
    conn: Connection,
) -> None:
    """List channels (URLs masked)."""
    _print_channels(conn)


@channels.command("add")
@connected()
def channels_add(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Channel name.")],
    apprise_url: Annotated[
        str, typer.Argument(help="Apprise URL: slack://… ntfy://… mailto://… json://…")
    ],
    min_severity: Annotated[
        str, typer.Option("--min-severity", help="info, warning, critical.")
    ] = "info",
) -> None:
    """Add a channel (the URL is checked, stored encrypted and shown masked)."""
    with conn.client() as client:
        created = client.create_channel(name, apprise_url, min_severity=min_severity)
    emit(conn.output, dump(created), f"channel {created.name} added ({created.url})")


@channels.command("reveal")
@connected()
def channels_reveal(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Channel name.")],
) -> None:
    """Print a channel's stored URL in clear, secrets included (admins; audited)."""
    with conn.client() as client:
        stored = client.reveal_channel_url(name)
    emit(conn.output, {"name": name, "url": stored}, stored)


@channels.command("rm")
@connected()
def channels_rm(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Channel name.")],
) -> None:
    """Remove a channel."""
    with conn.client() as client:
        client.delete_channel(name)
    emit(conn.output, {"removed": name}, f"channel {name} removed")


@channels.command("test")
@connected()
def channels_test(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Channel name.")],
) -> None:
    """Send a test notification now; exits 1 when it was not delivered."""
    with conn.client() as client:
        result = client.test_channel(name)
    ok = result.status == "sent"
    emit(
        conn.output,
        dump(result),
        f"test to {name}: {result.status}" + ("" if ok else f" ({result.last_error})"),
    )
    if not ok:
        raise typer.Exit(1)


@channels.command("deliveries")
@connected()
def channels_deliveries(
    conn: Connection,
    name: Annotated[str | None, typer.Argument(help="Only this channel.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, sent or failed.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 50,
) -> None:
    """Delivery history: what was sent where, and how it went."""
    with conn.client() as client:
        items = client.list_deliveries(channel=name, status=status, limit=limit)
    if conn.json:
        print_json([dump(d) for d in items])
        return
    rows = [[d.created_at.isoformat(timespec="seconds"), d.channel, d.event, d.status, d.attempts,
             d.title, d.last_error or ""] for d in items]  # fmt: skip
    print_table(None, ["CREATED", "CHANNEL", "EVENT", "STATUS", "TRIES", "TITLE", "ERROR"], rows)
