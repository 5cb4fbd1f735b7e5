"""``fleetdeck users …``, ``tokens …`` and ``audit``: who may do what, and who did what."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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
from fleetdeck.cli.output import OutputFormat, console, print_json, print_table
from fleetdeck.errors import ConflictError, NotFoundError
from fleetdeck.types import Role

if TYPE_CHECKING:
    from datetime import datetime

    from fleetdeck.client import FleetdeckClient

users = typer.Typer(help="Users (admin only; bare `users` lists them).")
tokens = typer.Typer(help="API tokens (bare `tokens` lists them).")
top = typer.Typer()

Conn = tuple[str | None, str | None, str | None]
UserArg = Annotated[str, typer.Argument(help="User name.")]


def _when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time short enough for a table column (UTC, as the server sends it)."""
    return value.strftime(fmt) if value else ""


def resolve_token_id(client: FleetdeckClient, wanted: str) -> str:
    """The full id of the one token whose id starts with ``wanted`` or whose name it is.

    Tables show 12-character ids, as docker does, so revoking takes what they show.

    Raises:
        NotFoundError: No token matches.
        ConflictError: Several do (give more of the id).
    """
    tokens = client.list_tokens()
    exact = [t.id for t in tokens if t.id == wanted]
    matches = exact or sorted({t.id for t in tokens if t.id.startswith(wanted) or t.name == wanted})
    if not matches:
        raise NotFoundError(f"no token {wanted!r}", hint="list them with: fleetdeck tokens")
    if len(matches) > 1:
        raise ConflictError(f"{len(matches)} tokens match {wanted!r}", hint="give more of the id")
    return matches[0]


def list_users(conn: Conn, output: OutputFormat) -> None:
    """Print every user."""
    with client_from(*conn) as client:
        items = client.list_users()
    if output is OutputFormat.json:
        print_json([dump(u) for u in items])
        return
    print_table(
        None,
        ["USERNAME", "ROLE", "DISABLED", "CREATED"],
        [
            [u.username, u.role.value, "yes" if u.disabled else "", _when(u.created_at)]
            for u in items
        ],
    )


@users.callback(invoke_without_command=True)
def users_main(
    ctx: typer.Context,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List users (same as `users ls`)."""
    if ctx.invoked_subcommand is None:
        list_users((url, token, ca_cert), output)


@users.command("ls")
def users_ls(
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List users."""
    list_users((url, token, ca_cert), output)


@users.command("add")
def users_add(
    username: UserArg,
    role: Annotated[Role, typer.Option("--role", "-r", help="viewer, operator or admin.")] = (
        Role.viewer
    ),
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Create a user."""
    password = read_secret(password_stdin, f"password for {username}")
    with client_from(url, token, ca_cert) as client:
        user = client.create_user(username, password, role)
    emit(output, dump(user), f"user {user.username} ({user.role.value}) created")


@users.command("rm")
def users_rm(
    username: UserArg,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Delete a user."""
    with client_from(url, token, ca_cert) as client:
        client.delete_user(username)
    emit(output, {"removed": username}, f"user {username} removed")


@users.command("set-role")
def users_set_role(
    username: UserArg,
    role: Annotated[Role, typer.Argument(help="viewer, operator or admin.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Change a user's role."""
    with client_from(url, token, ca_cert) as client:
        user = client.update_user(username, role=role)
    emit(output, dump(user), f"user {user.username} is now {user.role.value}")


@users.command("passwd")
def users_passwd(
    username: UserArg,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Set a user's password."""
    password = read_secret(password_stdin, f"new password for {username}")
    with client_from(url, token, ca_cert) as client:
        user = client.update_user(username, password=password)
    emit(output, dump(user), f"password of {user.username} changed")


def list_tokens(conn: Conn, output: OutputFormat) -> None:
    """Print one's tokens (an admin's: everyone's)."""
    with client_from(*conn) as client:
        items = client.list_tokens()
    if output is OutputFormat.json:
        print_json([dump(t) for t in items])
        return
    print_table(
        None,
        ["ID", "NAME", "OWNER", "ROLE", "EXPIRES", "LAST USED", "REVOKED"],
        [
            [
                t.id[:12],
                t.name,
                t.user,
                t.role.value,
                _when(t.expires_at),
                _when(t.last_used_at),
                "yes" if t.revoked else "",
            ]
            for t in items
        ],
    )


@tokens.callback(invoke_without_command=True)
def tokens_main(
    ctx: typer.Context,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List API tokens (same as `tokens ls`)."""
    if ctx.invoked_subcommand is None:
        list_tokens((url, token, ca_cert), output)


@tokens.command("ls")
def tokens_ls(
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List API tokens."""
    list_tokens((url, token, ca_cert), output)


@tokens.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. ci@runner1.")],
    role: Annotated[
        Role | None, typer.Option("--role", "-r", help="At most your own role (default: it).")
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option("--expires-in-days", min=1, help="Lifetime (default: server's).")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Create an API token; its secret is printed once and cannot be shown again."""
    with client_from(url, token, ca_cert) as client:
        created = client.create_token(name, role, expires_in_days)
    if output is OutputFormat.json:
        print_json(dump(created))
        return
    console.print(
        f"token {created.name} ({created.role.value}), id {created.id}:",
        highlight=False,
        markup=False,
    )
    typer.echo(created.token)
    console.print("[dim]store it now: it is not shown again[/]")
    if created.parent_id is not None:
        until = created.expires_at.isoformat() if created.expires_at else "never"
        console.print(
            f"[dim]made with token {created.parent_id}: revoked with it, expires {until}[/]",
            highlight=False,
        )


@tokens.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="Token id, id prefix or name (see `tokens ls`).")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Revoke an API token."""
    with client_from(url, token, ca_cert) as client:
        full_id = resolve_token_id(client, token_id)
        client.revoke_token(full_id)
    emit(output, {"revoked": full_id}, f"token {full_id} revoked")


@top.command()
def audit(
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most N entries.")] = 50,
    offset: Annotated[int | None, typer.Option("--offset", min=0, help="Skip N.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only by this user.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only on this target.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Show the audit log: who did what to what, when, and how it ended (admin only)."""
    with client_from(url, token, ca_cert) as client:
        page = client.audit(limit=limit, offset=offset, actor=actor, action=action, target=target)
    if output is OutputFormat.json:
        print_json(dump(page))
        return
    print_table(
        None,
        ["TIME", "ACTOR", "ACTION", "TARGET", "RESULT"],
        [
            [_when(e.time, "%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.target, e.result]
            for e in page.items
        ],
    )
    if page.total > len(page.items):
        typer.echo(f"{len(page.items)} of {page.total} shown (use --limit/--offset)")
