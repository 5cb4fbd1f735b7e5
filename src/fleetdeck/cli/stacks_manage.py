"""``fleetdeck stack ls|ps|logs|history|rm`` and ``stack vars set|ls|rm``.

A secret variable's value never needs to be on the command line: ``stack vars set NAME KEY
--secret`` reads it from a hidden prompt, or from stdin with ``--value-stdin``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fleetdeck.cli.common import (
    Connection,
    YesOpt,
    confirm_or_abort,
    connected,
    emit,
)
from fleetdeck.cli.output import print_json, print_table
from fleetdeck.errors import InvalidInputError

NameArg = Annotated[str, typer.Argument(help="Stack name.")]


app = typer.Typer()
variables = typer.Typer(help="Per-stack variables and secrets.", no_args_is_help=True)


@app.command("ls")
@connected()
def list_stacks(
    conn: Connection,
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Only the stacks of this environment.")
    ] = None,
) -> None:
    """Managed stacks, and Compose projects / Swarm stacks found running."""
    with conn.client() as client:
        stacks = client.list_stacks(env)
    if conn.json:
        print_json(stacks)
        return
    rows = [[s["name"], s["environment"], s["kind"], "yes" if s["managed"] else "no",
             s["status"], s["services"], s["revision"], s.get("drift") or ""]
            for s in stacks]  # fmt: skip
    columns = ["NAME", "ENVIRONMENT", "KIND", "MANAGED", "STATUS", "SERVICES", "REV", "DRIFT"]
    print_table(None, columns, rows)


@app.command("ps")
@connected()
def ps(
    conn: Connection,
    name: NameArg,
) -> None:
    """The stack's services and containers as they run now."""
    with conn.client() as client:
        services = client.stack_ps(name)
    if conn.json:
        print_json(services)
        return
    rows = [[s["service"], c["name"], c["state"], c.get("health") or "",
             c.get("image_ref") or c["image"]]
            for s in services for c in s["containers"]]  # fmt: skip
    print_table(None, ["SERVICE", "CONTAINER", "STATE", "HEALTH", "IMAGE"], rows)


@app.command("logs")
@connected()
def logs(
    conn: Connection,
    name: NameArg,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep following.")] = False,
    tail: Annotated[str | None, typer.Option("--tail", help="Lines per container.")] = None,
    service: Annotated[str | None, typer.Option("--service", help="Only this service.")] = None,
) -> None:
    """Log lines of the stack's containers, merged, each prefixed by its container."""
    with conn.client() as client:
        for item in client.stack_logs(name, tail=tail, follow=follow, service=service):
            if conn.json:
                typer.echo(__import__("json").dumps(item))
            elif "line" in item:
                typer.echo(f"{item.get('container')} | {item['line']}")


@app.command("history")
@connected()
def history(
    conn: Connection,
    name: NameArg,
) -> None:
    """The stack's revisions, newest first: result, services changed, images, message."""
    with conn.client() as client:
        revisions = client.stack_history(name)
    if conn.json:
        print_json(revisions)
        return
    rows = [[r["revision"], r["time"][:19], r["actor"], r["result"], r["strategy"],
             "" if r.get("changed") is None else r["changed"], _images(r), r["message"]]
            for r in revisions]  # fmt: skip
    heads = ["REV", "TIME", "ACTOR", "RESULT", "STRATEGY", "CHANGED", "IMAGES", "MESSAGE"]
    print_table(None, heads, rows)


def _images(revision: dict[str, object]) -> str:
    """``web=sha256:0123456789ab, db=…``: each service's image digest, short."""
    digests = revision.get("image_digests") or {}
    assert isinstance(digests, dict)  # noqa: S101 - the server's JSON
    return ", ".join(f"{svc}={str(ref).rpartition('@')[2][:19]}" for svc, ref in digests.items())


@app.command("rm")
@connected()
def remove(
    conn: Connection,
    name: NameArg,
    yes: YesOpt = False,
) -> None:
    """Remove the stack's containers (named volumes are kept) and forget it."""
    confirm_or_abort(yes, f"Remove stack {name} and its containers?")
    with conn.client() as client:
        result = client.remove_stack(name)
    emit(conn.output, result, f"removed stack {name}")


@variables.command("set")
@connected()
def set_variable(
    conn: Connection,
    name: NameArg,
    key: Annotated[str, typer.Argument(help="Variable name.")],
    value: Annotated[str | None, typer.Argument(help="Value (omit for a secret).")] = None,
    secret: Annotated[bool, typer.Option("--secret", help="Encrypted, write-only.")] = False,
    value_stdin: Annotated[bool, typer.Option("--value-stdin", help="Value from stdin.")] = False,
) -> None:
    """Set a variable; with --secret the value is prompted for (or read from stdin)."""
    if value is None:
        if value_stdin:
            value = sys.stdin.read().rstrip("\r\n")
        elif sys.stdin.isatty():
            value = typer.prompt(f"value of {key}", hide_input=secret)
        else:
            raise InvalidInputError("no value given", hint="pass it, or use --value-stdin")
    with conn.client() as client:
        result = client.set_stack_variable(name, key, value, secret)
    emit(conn.output, result, f"set {key}" + (" (secret)" if secret else ""))


@variables.command("ls")
@connected()
def list_variables(
    conn: Connection,
    name: NameArg,
) -> None:
    """Variables of a stack (secret values are never shown)."""
    with conn.client() as client:
        items = client.stack_variables(name)
    if conn.json:
        print_json(items)
        return
    rows = [[v["key"], "yes" if v["secret"] else "", "***" if v["secret"] else v["value"]]
            for v in items]  # fmt: skip
    print_table(None, ["KEY", "SECRET", "VALUE"], rows)


@variables.command("rm")
@connected()
def remove_variable(
    conn: Connection,
    name: NameArg,
    key: Annotated[str, typer.Argument(help="Variable name.")],
) -> None:
    """Remove a variable."""
    with conn.client() as client:
        result = client.remove_stack_variable(name, key)
    emit(conn.output, result, f"removed {key}")
