"""The ``fleetdeck`` entry point: command groups and the one place errors become exit codes.

Each top-level command is named in :data:`COMMANDS` with the module that defines it, and that
module is imported only when the command runs (:mod:`fleetdeck.cli.lazy`): ``fleetdeck
version`` loads Typer and nothing of the client, httpx, pydantic or Rich. A new command goes
into its module *and* into this table (``tests/unit/cli/test_lazy.py`` checks the two agree).
"""

from __future__ import annotations

import sys

import typer

from fleetdeck.cli.lazy import Lazy, LazyGroup
from fleetdeck.errors import FleetdeckError

# httpx imports its own command-line client when click, Rich and pygments are installed (they
# are: Typer and Rich are ours), which loads Rich's progress bars and pygments' lexers on
# every command that talks to the server. None in sys.modules makes that import fail, and
# httpx then defines a stand-in `httpx.main` that fleetdeck never calls.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def _top(module: str, *names: str, attr: str = "app") -> dict[str, Lazy]:
    """Commands that a Typer without a name puts at the top level (``fleetdeck ps``)."""
    return dict.fromkeys(names, Lazy(f"fleetdeck.cli.{module}", attr))


def _group(module: str, attr: str = "app") -> Lazy:
    return Lazy(f"fleetdeck.cli.{module}", attr, group=True)


# In the order of `fleetdeck --help`.
COMMANDS: dict[str, Lazy] = {
    "agent": Lazy("fleetdeck.cli.agent", "agent"),
    "metrics": Lazy("fleetdeck.cli.metrics", "metrics"),
    "version": Lazy("fleetdeck.cli.main", "version"),
    "lab": _group("lab"),
    "server": _group("server"),
    "stack": _group("stacks"),
    # --- fleet commands over the typed client (fleetdeck.client); see docs/dev/fleet-core.md ---
    **_top("session", "login", "logout", "whoami"),
    "env": _group("environments"),
    "agents": _group("agents"),
    **_top(
        "containers",
        "ps",
        "inspect",
        "start",
        "stop",
        "restart",
        "kill",
        "pause",
        "unpause",
        "rm",
        "rename",
    ),  # fmt: skip
    **_top("containers_make", "recreate", "run"),
    **_top("container_io", "logs", "stats", "exec"),
    "images": _group("images"),
    **_top("images", "rmi", "pull", attr="top"),
    "volumes": _group("resources", "volumes"),
    "networks": _group("resources", "networks"),
    "registries": _group("registries"),
    "repos": _group("repos"),
    "backup": _group("backups"),
    "nodes": _group("swarm", "nodes"),
    "services": _group("swarm", "services"),
    **_top("swarm", "scale", attr="top"),
    "autoscale": _group("autoscale"),
    "users": _group("admin", "users"),
    "tokens": _group("admin", "tokens"),
    **_top("admin", "audit", attr="top"),
    "report": _group("reports"),
    "alerts": _group("alerts", "alerts"),
    "rules": _group("alerts", "rules"),
    "silence": _group("alert_channels", "silence"),
    "channels": _group("alert_channels", "channels"),
    "heal": _group("heal", "heal"),
    **_top("fleetfile", "plan", "apply", "export", "schema"),
    "updates": _group("updates", "updates"),
}


class _Root(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(
    name="fleetdeck",
    help="fleetdeck: one control plane for every Docker host of a fleet.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=_Root,
)


def _print_version(value: bool) -> None:
    # The bare version, for scripts (`fleetdeck version` adds the commit for people).
    if value:
        from fleetdeck import __version__

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


def version() -> None:
    """Print fleetdeck's version and the commit it was built from."""
    from fleetdeck.packaging import version_line

    typer.echo(version_line())


def run() -> None:
    """Run the CLI; a FleetdeckError ends it with a one-line message and the kind's exit code.

    Usage errors are reported by Typer itself (standalone mode); everything fleetdeck raises
    is one of the kinds in :mod:`fleetdeck.errors`, mapped here and only here.
    """
    try:
        app()
    except FleetdeckError as exc:
        from rich.markup import escape  # imported on use: Rich is heavy to load

        from fleetdeck.cli.output import err_console

        err_console.print(
            f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True
        )
        if exc.hint:
            err_console.print(f"  {escape(exc.hint)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
