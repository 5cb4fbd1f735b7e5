"""``fleetdeck users …``, ``tokens …`` and ``audit``: who may do what, and who did what."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fleetdeck.cli.common import (
    Connection,
    connected,
    dump,
    emit,
    read_secret,
)
from fleetdeck.cli.output import console, print_json, print_table
from fleetdeck.errors import ConflictError, NotFoundError
from fleetdeck.wire.auth import Role

if TYPE_CHECKING:
    from datetime import datetime

    from fleetdeck.client import FleetdeckClient

users = typer.Typer(help="Users (admin only; bare `users` lists them).")
tokens = typer.Typer(help="API tokens (bare `tokens` lists them).")
top = typer.Typer()

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


def list_users(conn: Connection) -> None:
    """Print every user."""
    with conn.client() as client:
        items = client.list_users()
    if conn.json:
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
@connected()
def users_main(
    conn: Connection,
    ctx: typer.Context,
) -> None:
    """List users (same as `users ls`)."""
    if ctx.invoked_subcommand is None:
        list_users(conn)


@users.command("ls")
@connected()
def users_ls(
    conn: Connection,
) -> None:
    """List users."""
    list_users(conn)


@users.command("add")
@connected()
def users_add(
    conn: Connection,
    username: UserArg,
    role: Annotated[Role, typer.Option("--role", "-r", help="viewer, operator or admin.")] = (
        Role.viewer
    ),
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a user."""
    password = read_secret(password_stdin, f"password for {username}")
    with conn.client() as client:
        user = client.create_user(username, password, role)
    emit(conn.output, dump(user), f"user {user.username} ({user.role.value}) created")


@users.command("rm")
@connected()
def users_rm(
    conn: Connection,
    username: UserArg,
) -> None:
    """Delete a user."""
    with conn.client() as client:
        client.delete_user(username)
    emit(conn.output, {"removed": username}, f"user {username} removed")


@users.command("set-role")
@connected()
def users_set_role(
    conn: Connection,
    username: UserArg,
    role: Annotated[Role, typer.Argument(help="viewer, operator or admin.")],
) -> None:
    """Change a user's role."""
    with conn.client() as client:
        user = client.update_user(username, role=role)
    emit(conn.output, dump(user), f"user {user.username} is now {user.role.value}")


@users.command("passwd")
@connected()
def users_passwd(
    conn: Connection,
    username: UserArg,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Set a user's password."""
    password = read_secret(password_stdin, f"new password for {username}")
    with conn.client() as client:
        user = client.update_user(username, password=password)
    emit(conn.output, dump(user), f"password of {user.username} changed")


def list_tokens(conn: Connection) -> None:
    """Print one's tokens (an admin's: everyone's)."""
    with conn.client() as client:
        items = client.list_tokens()
    if conn.json:
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
@connected()
def tokens_main(
    conn: Connection,
    ctx: typer.Context,
) -> None:
    """List API tokens (same as `tokens ls`)."""
    if ctx.invoked_subcommand is None:
        list_tokens(conn)


@tokens.command("ls")
@connected()
def tokens_ls(
    conn: Connection,
) -> None:
    """List API tokens."""
    list_tokens(conn)


@tokens.command("create")
@connected()
def tokens_create(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. ci@runner1.")],
    role: Annotated[
        Role | None, typer.Option("--role", "-r", help="At most your own role (default: it).")
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option("--expires-in-days", min=1, help="Lifetime (default: server's).")
    ] = None,
) -> None:
    """Create an API token; its secret is printed once and cannot be shown again."""
    with conn.client() as client:
        created = client.create_token(name, role, expires_in_days)
    if conn.json:
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
@connected()
def tokens_revoke(
    conn: Connection,
    token_id: Annotated[str, typer.Argument(help="Token id, id prefix or name (see `tokens ls`).")],
) -> None:
    """Revoke an API token."""
    with conn.client() as client:
        full_id = resolve_token_id(client, token_id)
        client.revoke_token(full_id)
    emit(conn.output, {"revoked": full_id}, f"token {full_id} revoked")


@top.command()
@connected()
def audit(
    conn: Connection,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most N entries.")] = 50,
    offset: Annotated[int | None, typer.Option("--offset", min=0, help="Skip N.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only by this user.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only on this target.")] = None,
) -> None:
    """Show the audit log: who did what to what, when, and how it ended (admin only)."""
    with conn.client() as client:
        page = client.audit(limit=limit, offset=offset, actor=actor, action=action, target=target)
    if conn.json:
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
