"""Container commands at the top level, as in Docker: ``ps``, ``inspect``, lifecycle, ``rm``.

Refs are ``ENV/NAME``, ``ENV/ID-PREFIX`` or a fleet-unique id prefix; the server resolves
them, so an ambiguous prefix is the server's ``conflict`` error, not a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fleetdeck.cli.common import (
    Connection,
    EnvOpt,
    NodeOpt,
    connected,
    dump,
    short_id,
)
from fleetdeck.cli.output import OutputFormat, print_json, print_table

if TYPE_CHECKING:
    from fleetdeck.wire.containers import ActionResult, Container

app = typer.Typer()

RefsArg = Annotated[list[str], typer.Argument(help="Containers: ENV/NAME, ENV/ID or an id prefix.")]
RefArg = Annotated[str, typer.Argument(help="Container: ENV/NAME, ENV/ID or an id prefix.")]


PS_COLUMNS = ["ENVIRONMENT", "NODE", "NAME", "IMAGE", "STATE", "HEALTH", "STATUS", "ID"]


def container_row(c: Container, *, digests: bool = False) -> list[str | None]:
    """One ``ps`` table row: the image as written (tag), its digest only when asked for."""
    row = [c.environment, c.node, c.name, c.image_ref, c.state, c.health, c.status, short_id(c.id)]
    return [*row[:4], c.image_digest or "", *row[4:]] if digests else row


@app.command()
@connected()
def ps(
    conn: Connection,
    env: EnvOpt = None,
    node: NodeOpt = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="Only this state: running, exited, restarting, paused, created, dead, removing.",
        ),
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="K or K=V (repeatable).")
    ] = None,
    stack: Annotated[str | None, typer.Option("--stack", help="Only this stack.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Names containing this.")] = None,
    health: Annotated[
        str | None, typer.Option("--health", help="healthy, unhealthy, starting or none.")
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option("--sort", help="name, environment, node, state, image or created."),
    ] = None,
    desc: Annotated[bool, typer.Option("--desc", help="Sort descending.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N.")] = None,
    offset: Annotated[int | None, typer.Option("--offset", min=0, help="Skip N.")] = None,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Not only running ones.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only ENV/ID refs.")] = False,
    digests: Annotated[
        bool, typer.Option("--digests", help="Add the image digest (sha256:…) column.")
    ] = False,
) -> None:
    """List the fleet's containers (running ones unless --all or --state)."""
    with conn.client() as client:
        page = client.list_containers(
            environment=env,
            node=node,
            state=state or (None if all_ else "running"),
            labels=label,
            stack=stack,
            name=name,
            health=health,
            sort=sort,
            order="desc" if desc else None,
            limit=limit,
            offset=offset,
        )
    if quiet:
        for c in page.items:
            typer.echo(f"{c.environment}/{short_id(c.id)}")
    elif conn.json:
        print_json([dump(c) for c in page.items])
    else:
        columns = [*PS_COLUMNS[:4], "DIGEST", *PS_COLUMNS[4:]] if digests else PS_COLUMNS
        print_table(None, columns, [container_row(c, digests=digests) for c in page.items])
        if page.total > len(page.items):
            typer.echo(f"{len(page.items)} of {page.total} shown (use --limit/--offset)")


@app.command()
@connected(OutputFormat.json)
def inspect(
    conn: Connection,
    ref: RefArg,
) -> None:
    """Print Docker's inspect document of a container (always JSON: one object)."""
    with conn.client() as client:
        print_json(client.inspect_container(ref))


def _report(output: OutputFormat, results: list[tuple[str, ActionResult]], done: str) -> None:
    """Print what an action did to each container."""
    if output is OutputFormat.json:
        print_json([{"ref": ref, **dump(result)} for ref, result in results])
        return
    for ref, result in results:
        where = (
            f"{result.container.environment}/{result.container.name}" if result.container else ref
        )
        typer.echo(f"{where} {done}")


def _act(
    refs: list[str],
    action: str,
    conn: Connection,
    *,
    timeout: int | None = None,
    signal: str | None = None,
) -> list[tuple[str, ActionResult]]:
    """Run one action on each ref in turn (stopping at the first error, which is raised)."""
    with conn.client() as client:
        return [
            (ref, client.container_action(ref, action, timeout=timeout, signal=signal))
            for ref in refs
        ]


TimeOpt = Annotated[
    int | None, typer.Option("--time", "-t", min=0, help="Seconds to wait before killing.")
]


@app.command()
@connected()
def start(
    conn: Connection,
    refs: RefsArg,
) -> None:
    """Start containers."""
    _report(conn.output, _act(refs, "start", conn), "started")


@app.command()
@connected()
def stop(
    conn: Connection,
    refs: RefsArg,
    time: TimeOpt = None,
) -> None:
    """Stop containers (SIGTERM, then SIGKILL after --time seconds)."""
    _report(conn.output, _act(refs, "stop", conn, timeout=time), "stopped")


@app.command()
@connected()
def restart(
    conn: Connection,
    refs: RefsArg,
    time: TimeOpt = None,
) -> None:
    """Restart containers."""
    _report(conn.output, _act(refs, "restart", conn, timeout=time), "restarted")


@app.command()
@connected()
def kill(
    conn: Connection,
    refs: RefsArg,
    signal: Annotated[
        str | None, typer.Option("--signal", "-s", help="Signal to send (default KILL).")
    ] = None,
) -> None:
    """Send containers a signal."""
    _report(conn.output, _act(refs, "kill", conn, signal=signal), "killed")


@app.command()
@connected()
def pause(
    conn: Connection,
    refs: RefsArg,
) -> None:
    """Freeze containers' processes."""
    _report(conn.output, _act(refs, "pause", conn), "paused")


@app.command()
@connected()
def unpause(
    conn: Connection,
    refs: RefsArg,
) -> None:
    """Thaw paused containers."""
    _report(conn.output, _act(refs, "unpause", conn), "unpaused")


@app.command()
@connected()
def rm(
    conn: Connection,
    refs: RefsArg,
    force: Annotated[bool, typer.Option("--force", "-f", help="Remove running ones too.")] = False,
) -> None:
    """Remove containers."""
    with conn.client() as client:
        results = [(ref, client.remove_container(ref, force=force)) for ref in refs]
    if conn.json:
        print_json([{"ref": ref, **dump(result)} for ref, result in results])
    else:
        for ref, _ in results:
            typer.echo(f"{ref} removed")


@app.command()
@connected()
def rename(
    conn: Connection,
    ref: RefArg,
    new_name: Annotated[str, typer.Argument(help="New name.")],
) -> None:
    """Rename a container."""
    with conn.client() as client:
        result = client.rename_container(ref, new_name)
    if conn.json:
        print_json({"ref": ref, **dump(result)})
    else:
        typer.echo(f"{ref} renamed to {new_name}")
