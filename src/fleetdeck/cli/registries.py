"""``fleetdeck registries …``: registry credentials the server uses to pull (bare form lists)."""

from __future__ import annotations

from typing import Annotated

import typer

from fleetdeck.cli.common import (
    CaCertOpt,
    OutputOpt,
    TokenOpt,
    UrlOpt,
    client_from,
    dump,
    emit,
    read_secret,
)
from fleetdeck.cli.output import OutputFormat, print_json, print_table

app = typer.Typer(help="Registries and their credentials (bare `registries` lists them).")


def list_registries(conn: tuple[str | None, str | None, str | None], output: OutputFormat) -> None:
    """Print the saved registries (never their passwords: the server does not return them)."""
    with client_from(*conn) as client:
        items = client.list_registries()
    if output is OutputFormat.json:
        print_json([dump(r) for r in items])
    else:
        print_table(None, ["NAME", "URL", "USERNAME"], [[r.name, r.url, r.username] for r in items])


@app.callback(invoke_without_command=True)
def registries(
    ctx: typer.Context,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List registries (same as `registries ls`)."""
    if ctx.invoked_subcommand is None:
        list_registries((url, token, ca_cert), output)


@app.command("ls")
def ls(
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List registries."""
    list_registries((url, token, ca_cert), output)


@app.command("add")
def add(
    name: Annotated[
        str, typer.Argument(help="Name to refer to it by (e.g. in `pull --registry`).")
    ],
    registry_url: Annotated[str, typer.Argument(help="Registry address, e.g. registry.lan:5000.")],
    username: Annotated[str | None, typer.Option("--username", "-u", help="User name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Save a registry (and its credentials, when --username is given)."""
    password = read_secret(password_stdin, f"password for {username}") if username else None
    with client_from(url, token, ca_cert) as client:
        created = client.create_registry(name, registry_url, username, password)
    emit(output, dump(created), f"registry {created.name} saved")


@app.command("rm")
def rm(
    name: Annotated[str, typer.Argument(help="Registry name.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Forget a registry and its credentials."""
    with client_from(url, token, ca_cert) as client:
        client.delete_registry(name)
    emit(output, {"removed": name}, f"registry {name} removed")
