"""``fleetdeck login`` / ``logout`` / ``whoami``: the saved login the other commands use.

Login trades a username and password for a short-lived session, uses that session to make
a long-lived API token named ``cli@<hostname>``, ends the session, and saves the server URL,
the token and the CA path in a 0600 file. Logout revokes that token and deletes the file.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fleetdeck.cli.common import (
    CaCertOpt,
    Connection,
    OutputOpt,
    connected,
    emit,
    read_secret,
)
from fleetdeck.cli.output import OutputFormat, err_console
from fleetdeck.client import ClientConfig, FleetdeckClient
from fleetdeck.client.config import (
    SavedLogin,
    config_path,
    forget_login,
    load_saved_login,
    normalize_url,
    save_login,
)
from fleetdeck.errors import ConflictError, FleetdeckError

if TYPE_CHECKING:
    from fleetdeck.wire.auth import CreatedToken

app = typer.Typer()


def _create_cli_token(client: FleetdeckClient) -> CreatedToken:
    """An API token named after this machine; a second name if that one is taken."""
    name = f"cli@{socket.gethostname()}"
    try:
        return client.create_token(name)
    except ConflictError:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return client.create_token(f"{name}-{stamp}")


@app.command()
def login(
    url: Annotated[str, typer.Argument(help="Server URL, e.g. https://fleet.example:8443.")],
    username: Annotated[str, typer.Option("--username", "-u", help="User to log in as.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Log in, create an API token for this machine and save it for later commands."""
    server = normalize_url(url)
    ca_path = str(Path(ca_cert).expanduser().resolve()) if ca_cert else None
    password = read_secret(password_stdin, f"password for {username}")
    with FleetdeckClient(ClientConfig(server, ca_cert=ca_path)) as anonymous:
        session = anonymous.login(username, password)
    with FleetdeckClient(ClientConfig(server, token=session.token, ca_cert=ca_path)) as client:
        created = _create_cli_token(client)
        try:
            client.logout()
        except FleetdeckError:
            pass  # the session expires on its own; the API token is what matters
    saved = SavedLogin(
        url=server,
        token=created.token,
        ca_cert=ca_path,
        token_id=created.id,
        token_name=created.name,
        username=session.user.username,
    )
    path = save_login(saved)
    data = {
        "url": server,
        "username": session.user.username,
        "role": session.user.role.value,
        "token_name": created.name,
        "config_path": str(path),
    }
    emit(
        output,
        data,
        f"logged in to {server} as {session.user.username} ({session.user.role.value}); "
        f"token {created.name} saved in {path}",
    )


@app.command()
def logout(output: OutputOpt = OutputFormat.table) -> None:
    """Revoke the saved API token (when the server answers) and forget the saved login."""
    saved = load_saved_login()
    revoked = False
    if saved and saved.token_id:
        config = ClientConfig(saved.url, token=saved.token, ca_cert=saved.ca_cert)
        try:
            with FleetdeckClient(config) as client:
                client.revoke_token(saved.token_id)
            revoked = True
        except FleetdeckError as exc:
            err_console.print(
                f"warning: could not revoke the token: {exc}", highlight=False, markup=False
            )
    removed = forget_login()
    data = {"logged_out": removed, "token_revoked": revoked, "config_path": str(config_path())}
    emit(output, data, f"logged out of {saved.url}" if saved else "not logged in; nothing to do")


@app.command()
@connected()
def whoami(
    conn: Connection,
) -> None:
    """Show the user behind the current token."""
    with conn.client() as client:
        user = client.me()
        server = client.config.url
    emit(
        conn.output,
        user.model_dump(mode="json"),
        f"{user.username} ({user.role.value}) on {server}",
    )
