"""``fleetdeck env …``: the environments (hosts or Swarms) that make up the fleet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from fleetdeck.cli.common import (
    Connection,
    YesOpt,
    confirm_or_abort,
    connected,
    dump,
    emit,
)
from fleetdeck.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from fleetdeck.wire.fleet import Environment, JoinToken

app = typer.Typer(
    help="Environments: Docker hosts and Swarms under fleetdeck.", no_args_is_help=True
)

EnvArg = Annotated[str, typer.Argument(help="Environment name.")]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", help="Tag (repeatable).")]
GroupOpt = Annotated[list[str] | None, typer.Option("--group", help="Group (repeatable).")]
LocalOpt = Annotated[
    bool,
    typer.Option(
        "--local",
        help="The engine on the server's own host, by its socket: the server runs its agent.",
    ),
]
DockerHostOpt = Annotated[
    str | None,
    typer.Option(
        "--docker-host",
        help="With --local: the engine's socket on the server's host "
        "(default unix:///var/run/docker.sock).",
    ),
]


def _print_join(token: JoinToken) -> None:
    """Show a join token and how an agent uses it."""
    console.print(
        f"join token: [bold]{escape(token.join_token)}[/]", highlight=False, soft_wrap=True
    )
    if token.expires_in_seconds:
        console.print(f"expires in {token.expires_in_seconds // 60} minutes", highlight=False)
    ways = [
        ("by script (as root, in bash; installs a systemd service from this server):",
         [token.install_command]),
        ("as a container:", [token.image_load_command, token.docker_command]),
        ("by hand (fleetdeck installed on the host):", [token.agent_command]),
        ("to remove a script install later:", [token.uninstall_command]),
    ]  # fmt: skip
    shown = [(title, [line for line in lines if line]) for title, lines in ways]
    shown = [(title, lines) for title, lines in shown if lines]
    if shown:
        console.print("on the new host, run one of:", highlight=False)
    for title, lines in shown:
        console.print(f"  {title}", highlight=False, markup=False)
        for line in lines:
            console.print(f"    {line}", highlight=False, markup=False, soft_wrap=True)


def agent_text(version: str | None, protocol: int | None, outdated: bool | None) -> str:
    """An agent's version as a column shows it: ``0.1.0 p1 outdated`` (empty: not reported)."""
    if protocol is None:
        return ""
    return f"{version or '?'} p{protocol}" + (" outdated" if outdated else "")


def _print_environment(env: Environment) -> None:
    console.print(
        f"[bold]{escape(env.name)}[/] ({escape(env.kind)}) {escape(env.status)}"
        + escape(f", engine {env.docker_host}" if env.docker_host else "")
        + escape(f", tags {', '.join(env.tags)}" if env.tags else "")
        + escape(f", groups {', '.join(env.groups)}" if env.groups else ""),
        highlight=False,
    )
    print_table(
        None,
        ["NODE", "ADDRESS", "HOSTNAME", "STATUS", "ENGINE", "AGENT", "SWARM", "LAST SEEN"],
        [
            [
                n.name,
                n.address,
                n.hostname,
                n.status,
                n.engine_version,
                agent_text(n.agent_version, n.agent_protocol, n.agent_outdated),
                n.swarm_role,
                n.last_seen.isoformat(timespec="seconds") if n.last_seen else "",
            ]
            for n in env.nodes
        ],
    )
    for n in env.nodes:
        if n.status == "incompatible" and n.error:
            console.print(f"{n.name}: {n.error}", highlight=False, markup=False, soft_wrap=True)


@app.command("add")
@connected()
def add(
    conn: Connection,
    name: EnvArg,
    tag: TagOpt = None,
    group: GroupOpt = None,
    local: LocalOpt = False,
    docker_host: DockerHostOpt = None,
) -> None:
    """Create an environment and print the join token its first agent enrols with.

    With --local, the environment is an engine on the server's own host: the server runs its
    agent itself, so there is no join token.
    """
    if docker_host is not None and not local:
        raise typer.BadParameter("--docker-host needs --local", param_hint="--docker-host")
    with conn.client() as client:
        if local:
            created_local = client.create_environment(
                name, tags=tag, groups=group, kind="local", docker_host=docker_host
            )
            data, env = dump(created_local), created_local.environment
        else:
            created = client.create_environment(name, tags=tag, groups=group)
            data, env = dump(created), None
    if conn.json:
        print_json(data)
        return
    console.print(f"environment [bold]{escape(name)}[/] created", highlight=False)
    if env is not None:
        _print_environment(env)
    else:
        _print_join(created)


@app.command("ls")
@connected()
def ls(
    conn: Connection,
) -> None:
    """List environments with their status and node count."""
    with conn.client() as client:
        envs = client.list_environments()
    if conn.json:
        print_json([dump(e) for e in envs])
        return
    print_table(
        None,
        ["NAME", "KIND", "STATUS", "NODES", "AGENT", "TAGS", "GROUPS", "LAST SEEN"],
        [
            [
                e.name,
                e.kind,
                e.status,
                len(e.nodes),
                agent_text(e.agent_version, e.agent_protocol, e.agent_outdated),
                ",".join(e.tags),
                ",".join(e.groups),
                e.last_seen.isoformat(timespec="seconds") if e.last_seen else "",
            ]
            for e in envs
        ],
    )


@app.command("show")
@connected()
def show(
    conn: Connection,
    name: EnvArg,
) -> None:
    """Show an environment and its nodes."""
    with conn.client() as client:
        env = client.get_environment(name)
    if conn.json:
        print_json(dump(env))
    else:
        _print_environment(env)


@app.command("rm")
@connected()
def rm(
    conn: Connection,
    name: EnvArg,
    yes: YesOpt = False,
) -> None:
    """Remove an environment and revoke its agents' certificates."""
    confirm_or_abort(yes, f"remove environment {name} and revoke its agents?")
    with conn.client() as client:
        client.delete_environment(name)
    emit(conn.output, {"removed": name}, f"environment {name} removed")


@app.command("token")
@connected()
def join_token(
    conn: Connection,
    name: EnvArg,
) -> None:
    """Make a new join token for one more agent of this environment."""
    with conn.client() as client:
        created = client.create_join_token(name)
    if conn.json:
        print_json(dump(created))
    else:
        _print_join(created)


@app.command("set")
@connected()
def set_(
    conn: Connection,
    name: EnvArg,
    tag: TagOpt = None,
    group: GroupOpt = None,
) -> None:
    """Replace an environment's tags and/or groups (only those given)."""
    with conn.client() as client:
        env = client.update_environment(name, tags=tag, groups=group)
    emit(conn.output, dump(env), f"environment {env.name} updated")
