"""``fleetdeck stack allow|disallow|allowances``: admins' allowances of dangerous rules.

A dangerous hardening finding (privileged, host namespaces, bind mounts of ``/`` or of the
Docker socket…) blocks a deploy by anyone but an admin. An admin allows a rule for one stack
(``stack allow STACK RULE…``) or for every stack of an environment (``stack allow --env ENV
RULE…``); every change is audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from fleetdeck.cli.common import (
    Connection,
    connected,
)
from fleetdeck.cli.output import OutputFormat, print_json
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from fleetdeck.client import FleetdeckClient

app = typer.Typer()

TargetArg = Annotated[str, typer.Argument(help="Stack name (with --env: environment name).")]
RulesArg = Annotated[list[str] | None, typer.Argument(help="Rules, e.g. privileged host-pid.")]
EnvFlag = Annotated[
    bool, typer.Option("--env", help="TARGET is an environment: for every stack there.")
]


def _current(client: FleetdeckClient, target: str, env: bool) -> list[str]:
    data = client.environment_allowances(target) if env else client.stack_allowances(target)
    return list(data["rules"])


def _store(client: FleetdeckClient, target: str, env: bool, rules: list[str]) -> dict[str, Any]:
    if env:
        return client.set_environment_allowances(target, rules)
    return client.set_stack_allowances(target, rules)


def _show(output: OutputFormat, data: dict[str, Any], target: str, env: bool) -> None:
    if output is OutputFormat.json:
        print_json(data)
        return
    what = f"environment {target}" if env else f"stack {target}"
    typer.echo(f"allowed for {what}: {', '.join(data['rules']) or 'none'}")
    if not env and data.get("environment"):
        inherited = ", ".join(data.get("environment_rules") or []) or "none"
        typer.echo(f"allowed for its environment {data['environment']}: {inherited}")


@app.command("allow")
@connected()
def allow(
    conn: Connection,
    target: TargetArg,
    rules: RulesArg = None,
    env: EnvFlag = False,
) -> None:
    """Let non-admins deploy RULES' findings for a stack or environment (admin; audited)."""
    if not rules:
        raise InvalidInputError("name at least one rule", hint="e.g. privileged docker-socket")
    with conn.client() as client:
        data = _store(client, target, env, sorted(set(_current(client, target, env)) | set(rules)))
    _show(conn.output, data, target, env)


@app.command("disallow")
@connected()
def disallow(
    conn: Connection,
    target: TargetArg,
    rules: RulesArg = None,
    env: EnvFlag = False,
    every: Annotated[bool, typer.Option("--all", help="Remove every allowance.")] = False,
) -> None:
    """Block RULES' findings again for non-admins (admin; audited)."""
    if not rules and not every:
        raise InvalidInputError("name the rules to disallow, or --all")
    with conn.client() as client:
        kept = [] if every else sorted(set(_current(client, target, env)) - set(rules or []))
        data = _store(client, target, env, kept)
    _show(conn.output, data, target, env)


@app.command("allowances")
@connected()
def allowances(
    conn: Connection,
    target: TargetArg,
    env: EnvFlag = False,
) -> None:
    """The dangerous rules allowed for a stack (and its environment) or an environment."""
    with conn.client() as client:
        data = client.environment_allowances(target) if env else client.stack_allowances(target)
    _show(conn.output, data, target, env)
