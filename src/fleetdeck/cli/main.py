"""The ``fleetdeck`` entry point: command groups and the one place errors become exit codes."""

from __future__ import annotations

import sys

import typer

from fleetdeck import __version__
from fleetdeck.cli import lab
from fleetdeck.cli.output import err_console
from fleetdeck.errors import FleetdeckError

app = typer.Typer(
    name="fleetdeck",
    help="fleetdeck: one control plane for every Docker host of a fleet.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(lab.app, name="lab")


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
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err_console.print(f"  {exc.hint}", highlight=False)
        sys.exit(exc.exit_code)
