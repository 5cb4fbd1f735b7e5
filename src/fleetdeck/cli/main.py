"""The ``fleetdeck`` entry point: command groups and the one place errors become exit codes."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from fleetdeck import __version__
from fleetdeck.cli import agent, lab, server, stacks
from fleetdeck.cli.output import err_console
from fleetdeck.errors import FleetdeckError

app = typer.Typer(
    name="fleetdeck",
    help="fleetdeck: one control plane for every Docker host of a fleet.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(lab.app, name="lab")
app.add_typer(server.app, name="server")
app.add_typer(stacks.app, name="stack")
app.command("agent")(agent.agent)


# --- fleet commands over the typed client (fleetdeck.client); see docs/dev/fleet-core.md ---
from fleetdeck.cli import (  # noqa: E402 - kept together as one block of the fleet commands
    admin,
    alert_channels,
    alerts,
    container_io,
    containers,
    containers_make,
    environments,
    images,
    metrics,
    registries,
    reports,
    resources,
    session,
    swarm,
)

app.add_typer(session.app)
app.add_typer(environments.app, name="env")
app.add_typer(containers.app)
app.add_typer(containers_make.app)
app.add_typer(container_io.app)
app.add_typer(images.app, name="images")
app.add_typer(images.top)
app.add_typer(resources.volumes, name="volumes")
app.add_typer(resources.networks, name="networks")
app.add_typer(registries.app, name="registries")
app.add_typer(swarm.nodes, name="nodes")
app.add_typer(swarm.services, name="services")
app.add_typer(swarm.top)
app.add_typer(admin.users, name="users")
app.add_typer(admin.tokens, name="tokens")
app.add_typer(admin.top)
app.command("metrics")(metrics.metrics)
app.add_typer(reports.app, name="report")
app.add_typer(alerts.alerts, name="alerts")
app.add_typer(alerts.rules, name="rules")
app.add_typer(alert_channels.silence, name="silence")
app.add_typer(alert_channels.channels, name="channels")
# --- end of fleet commands ---


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print fleetdeck's version and exit.",
    ),
) -> None:
    """fleetdeck: one control plane for every Docker host of a fleet."""


@app.command()
def version() -> None:
    """Print fleetdeck's version."""
    typer.echo(__version__)


def run() -> None:
    """Run the CLI; a FleetdeckError ends it with a one-line message and the kind's exit code.

    Usage errors are reported by Typer itself (standalone mode); everything fleetdeck raises
    is one of the kinds in :mod:`fleetdeck.errors`, mapped here and only here.
    """
    try:
        app()
    except FleetdeckError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True
        )
        if exc.hint:
            err_console.print(f"  {escape(exc.hint)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
