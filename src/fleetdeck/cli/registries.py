"""``fleetdeck registries …``: registry credentials the server uses to pull (bare form lists)."""

from __future__ import annotations

from typing import Annotated

import typer

from fleetdeck.cli.common import (
    Connection,
    connected,
    dump,
    emit,
    read_secret,
)
from fleetdeck.cli.output import print_json, print_table

app = typer.Typer(help="Registries and their credentials (bare `registries` lists them).")


def list_registries(conn: Connection) -> None:
    """Print the saved registries (never their passwords: the server does not return them)."""
    with conn.client() as client:
        items = client.list_registries()
    if conn.json:
        print_json([dump(r) for r in items])
    else:
        print_table(None, ["NAME", "URL", "USERNAME"], [[r.name, r.url, r.username] for r in items])


@app.callback(invoke_without_command=True)
@connected()
def registries(
    conn: Connection,
    ctx: typer.Context,
) -> None:
    """List registries (same as `registries ls`)."""
    if ctx.invoked_subcommand is None:
        list_registries(conn)


@app.command("ls")
@connected()
def ls(
    conn: Connection,
) -> None:
    """List registries."""
    list_registries(conn)


@app.command("add")
@connected()
def add(
    conn: Connection,
    name: Annotated[
        str, typer.Argument(help="Name to refer to it by (e.g. in `pull --registry`).")
    ],
    registry_url: Annotated[str, typer.Argument(help="Registry address, e.g. registry.lan:5000.")],
    username: Annotated[str | None, typer.Option("--username", "-u", help="User name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Save a registry (and its credentials, when --username is given)."""
    password = read_secret(password_stdin, f"password for {username}") if username else None
    with conn.client() as client:
        created = client.create_registry(name, registry_url, username, password)
    emit(conn.output, dump(created), f"registry {created.name} saved")


@app.command("rm")
@connected()
def rm(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Registry name.")],
) -> None:
    """Forget a registry and its credentials."""
    with conn.client() as client:
        client.delete_registry(name)
    emit(conn.output, {"removed": name}, f"registry {name} removed")
