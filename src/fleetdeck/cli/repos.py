"""``fleetdeck repos ls|add|rm|webhook``: the Git repositories stacks are deployed from.

A token (https) is read from stdin with ``--token-stdin``; an SSH deploy key from a file
with ``--ssh-key FILE``. Both are sent once and stored encrypted: no command prints them.
``repos webhook NAME`` prints the URL and secret to paste into the forge (admin).
"""

from __future__ import annotations

import sys
from pathlib import Path  # noqa: TC003 - Typer reads the annotations at run time
from typing import Annotated

import typer

from fleetdeck.cli.common import Connection, connected, dump, emit
from fleetdeck.cli.output import print_json, print_table
from fleetdeck.errors import InvalidInputError

app = typer.Typer(help="Git repositories stacks are deployed from (bare `repos` lists them).")


def _list(conn: Connection) -> None:
    with conn.client() as client:
        items = client.list_repos()
    if conn.json:
        print_json([dump(r) for r in items])
        return
    rows = [[r.name, r.url, r.auth, f"{r.poll_interval_s:g}s", ", ".join(r.stacks) or "-"]
            for r in items]  # fmt: skip
    print_table(None, ["NAME", "URL", "AUTH", "POLL", "STACKS"], rows)


@app.callback(invoke_without_command=True)
@connected()
def repos(conn: Connection, ctx: typer.Context) -> None:
    """List repositories (same as `repos ls`)."""
    if ctx.invoked_subcommand is None:
        _list(conn)


@app.command("ls")
@connected()
def ls(conn: Connection) -> None:
    """List repositories and the stacks that use them."""
    _list(conn)


@app.command("add")
@connected()
def add(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Name to refer to it by.")],
    repo_url: Annotated[
        str, typer.Argument(help="https://, http:// (LAN), ssh:// or git@host:path.")
    ],
    username: Annotated[str | None, typer.Option("--username", "-u", help="User name.")] = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the https token or password from stdin.")
    ] = False,
    ssh_key: Annotated[
        Path | None, typer.Option("--ssh-key", help="A file with the SSH deploy key (private).")
    ] = None,
    poll_interval: Annotated[
        int | None, typer.Option("--poll-interval", help="Seconds between polls (default 60).")
    ] = None,
) -> None:
    """Add a repository (its token or deploy key stored encrypted, never shown again)."""
    token = None
    if token_stdin:
        token = sys.stdin.readline().rstrip("\r\n")
        if not token:
            raise InvalidInputError("the token is empty")
    key = None
    if ssh_key is not None:
        try:
            key = ssh_key.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"cannot read the deploy key {ssh_key}: {exc}") from None
    with conn.client() as client:
        created = client.create_repo(name, repo_url, username=username, token=token, ssh_key=key,
                                     poll_interval_s=poll_interval)  # fmt: skip
    emit(conn.output, dump(created), f"repository {created.name} added ({created.auth})")


@app.command("rm")
@connected()
def rm(conn: Connection, name: Annotated[str, typer.Argument(help="Repository name.")]) -> None:
    """Forget a repository, its credentials and cache (not while a stack uses it)."""
    with conn.client() as client:
        client.delete_repo(name)
    emit(conn.output, {"removed": name}, f"repository {name} removed")


@app.command("webhook")
@connected()
def webhook(
    conn: Connection, name: Annotated[str, typer.Argument(help="Repository name.")]
) -> None:
    """Print the repository's webhook URL and secret (for the forge's webhook settings)."""
    with conn.client() as client:
        hook = client.repo_webhook(name)
    text = f"url:    {hook.url}\nsecret: {hook.secret}\nsigned: {', '.join(hook.signatures)}"
    emit(conn.output, dump(hook), text)
