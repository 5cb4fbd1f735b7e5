"""``fleetdeck silence`` (silences and maintenance windows) and ``fleetdeck channels``."""

from __future__ import annotations

from typing import Annotated

import typer

from fleetdeck.cli.common import CaCertOpt, OutputOpt, TokenOpt, UrlOpt, client_from, dump, emit
from fleetdeck.cli.output import OutputFormat, print_json, print_table

silence = typer.Typer(help="Silences and maintenance windows (bare `silence` lists silences).")
maintenance = typer.Typer(help="Maintenance windows: an environment's alerts page nobody.")
channels = typer.Typer(help="Notification channels (Apprise URLs; bare `channels` lists them).")
silence.add_typer(maintenance, name="maintenance")

Conn = tuple[str | None, str | None, str | None]
DurationOpt = Annotated[str, typer.Option("--for", "-d", help="How long (30m, 2h, 1d).")]


def _print_silences(conn: Conn, output: OutputFormat) -> None:
    with client_from(*conn) as client:
        items = client.list_silences()
    if output is OutputFormat.json:
        print_json([dump(s) for s in items])
        return
    rows = [[s.id[:12], s.state, " ".join(s.matchers), s.ends_at.isoformat(timespec="seconds"),
             s.created_by, s.comment] for s in items]  # fmt: skip
    print_table(None, ["ID", "STATE", "MATCHERS", "ENDS", "BY", "COMMENT"], rows)


@silence.callback(invoke_without_command=True)
def silence_main(
    ctx: typer.Context,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List silences (same as `silence ls`)."""
    if ctx.invoked_subcommand is None:
        _print_silences((url, token, ca_cert), output)


@silence.command("ls")
def silence_ls(
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List silences (active, pending, expired)."""
    _print_silences((url, token, ca_cert), output)


@silence.command("add")
def silence_add(
    matchers: Annotated[list[str], typer.Argument(help="NAME=VALUE, NAME!=VALUE, NAME=~RE…")],
    duration: DurationOpt = "2h",
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why.")] = "",
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Silence alerts matching every matcher: `silence add rule=host-cpu-high node=n1 --for 1h`."""
    with client_from(url, token, ca_cert) as client:
        created = client.create_silence(matchers, duration=duration, comment=comment)
    emit(output, dump(created), f"silence {created.id} until {created.ends_at.isoformat()}")


@silence.command("rm")
def silence_rm(
    silence_id: Annotated[str, typer.Argument(help="Silence id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """End a silence now."""
    with client_from(url, token, ca_cert) as client:
        ended = client.expire_silence(silence_id)
    emit(output, dump(ended), f"silence {ended.id} ended")


@maintenance.command("ls")
def maintenance_ls(
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List maintenance windows."""
    with client_from(url, token, ca_cert) as client:
        items = client.list_maintenance()
    if output is OutputFormat.json:
        print_json([dump(m) for m in items])
        return
    rows = [[m.id[:12], m.state, m.environment, m.ends_at.isoformat(timespec="seconds"),
             m.created_by, m.reason] for m in items]  # fmt: skip
    print_table(None, ["ID", "STATE", "ENVIRONMENT", "ENDS", "BY", "REASON"], rows)


@maintenance.command("add")
def maintenance_add(
    environment: Annotated[str, typer.Argument(help="Environment under maintenance.")],
    duration: DurationOpt = "2h",
    reason: Annotated[str, typer.Option("--reason", "-m", help="Why.")] = "",
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Put an environment under maintenance: its alerts page nobody until the end."""
    with client_from(url, token, ca_cert) as client:
        created = client.create_maintenance(environment, duration=duration, reason=reason)
    emit(
        output,
        dump(created),
        f"maintenance {created.id} on {environment} until {created.ends_at.isoformat()}",
    )


@maintenance.command("rm")
def maintenance_rm(
    window_id: Annotated[str, typer.Argument(help="Maintenance window id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """End a maintenance window now."""
    with client_from(url, token, ca_cert) as client:
        ended = client.end_maintenance(window_id)
    emit(output, dump(ended), f"maintenance {ended.id} ended")


# ---------------------------------------------------------------- channels
def _print_channels(conn: Conn, output: OutputFormat) -> None:
    with client_from(*conn) as client:
        items = client.list_channels()
    if output is OutputFormat.json:
        print_json([dump(c) for c in items])
        return
    rows = [[c.name, c.kind, "on" if c.enabled else "off", c.min_severity, c.url] for c in items]
    print_table(None, ["NAME", "KIND", "ENABLED", "MIN SEVERITY", "URL (masked)"], rows)


@channels.callback(invoke_without_command=True)
def channels_main(
    ctx: typer.Context,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List channels (same as `channels ls`)."""
    if ctx.invoked_subcommand is None:
        _print_channels((url, token, ca_cert), output)


@channels.command("ls")
def channels_ls(
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List channels (URLs masked)."""
    _print_channels((url, token, ca_cert), output)


@channels.command("add")
def channels_add(
    name: Annotated[str, typer.Argument(help="Channel name.")],
    apprise_url: Annotated[
        str, typer.Argument(help="Apprise URL: slack://… ntfy://… mailto://… json://…")
    ],
    min_severity: Annotated[
        str, typer.Option("--min-severity", help="info, warning, critical.")
    ] = "info",
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Add a channel (the URL is checked, stored encrypted and shown masked)."""
    with client_from(url, token, ca_cert) as client:
        created = client.create_channel(name, apprise_url, min_severity=min_severity)
    emit(output, dump(created), f"channel {created.name} added ({created.url})")


@channels.command("reveal")
def channels_reveal(
    name: Annotated[str, typer.Argument(help="Channel name.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Print a channel's stored URL in clear, secrets included (admins; audited)."""
    with client_from(url, token, ca_cert) as client:
        stored = client.reveal_channel_url(name)
    emit(output, {"name": name, "url": stored}, stored)


@channels.command("rm")
def channels_rm(
    name: Annotated[str, typer.Argument(help="Channel name.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Remove a channel."""
    with client_from(url, token, ca_cert) as client:
        client.delete_channel(name)
    emit(output, {"removed": name}, f"channel {name} removed")


@channels.command("test")
def channels_test(
    name: Annotated[str, typer.Argument(help="Channel name.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Send a test notification now; exits 1 when it was not delivered."""
    with client_from(url, token, ca_cert) as client:
        result = client.test_channel(name)
    ok = result.status == "sent"
    emit(
        output,
        dump(result),
        f"test to {name}: {result.status}" + ("" if ok else f" ({result.last_error})"),
    )
    if not ok:
        raise typer.Exit(1)


@channels.command("deliveries")
def channels_deliveries(
    name: Annotated[str | None, typer.Argument(help="Only this channel.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, sent or failed.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 50,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Delivery history: what was sent where, and how it went."""
    with client_from(url, token, ca_cert) as client:
        items = client.list_deliveries(channel=name, status=status, limit=limit)
    if output is OutputFormat.json:
        print_json([dump(d) for d in items])
        return
    rows = [[d.created_at.isoformat(timespec="seconds"), d.channel, d.event, d.status, d.attempts,
             d.title, d.last_error or ""] for d in items]  # fmt: skip
    print_table(None, ["CREATED", "CHANNEL", "EVENT", "STATUS", "TRIES", "TITLE", "ERROR"], rows)
