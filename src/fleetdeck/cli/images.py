"""Image commands: ``images`` (a group whose bare form lists), ``pull`` and ``rmi``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from fleetdeck.cli.common import (
    Connection,
    EnvOpt,
    NodeOpt,
    TargetEnvOpt,
    TargetNodeOpt,
    UnusedOpt,
    connected,
    dump,
    emit,
    human_size,
    short_id,
    used_by_cell,
    warn_unreachable,
)
from fleetdeck.cli.output import console, print_json, print_table
from fleetdeck.cli.pull_progress import PullRenderer
from fleetdeck.client.base import raise_if_stream_error

app = typer.Typer(help="Images on the fleet's engines (bare `images` lists them).")
top = typer.Typer()

ImageArg = Annotated[str, typer.Argument(help="Image reference (REGISTRY/NAME:TAG) or id.")]


DanglingOpt = Annotated[
    bool, typer.Option("--dangling", help="Only untagged images (reachable by id or digest).")
]


def list_images(
    env: str | None,
    node: str | None,
    conn: Connection,
    filters: tuple[bool, bool] = (False, False),
) -> None:
    """Print the images of the fleet (or of one environment or node).

    ``filters`` is (unused, dangling): keep only images no container uses / untagged ones.
    """
    unused, dangling = filters
    with conn.client() as client:
        page = client.list_images(env, node, unused=unused, dangling=dangling)
    warn_unreachable(page.unreachable)
    images = page.items
    if conn.json:
        print_json([dump(i) for i in images])
        return
    print_table(
        None,
        ["ENVIRONMENT", "NODE", "ID", "TAGS", "SIZE", "CREATED", "CONTAINERS", "USED BY"],
        [
            [
                i.environment,
                i.node,
                short_id(i.id),
                ", ".join(i.tags) or "<none>",
                human_size(i.size),
                i.created.isoformat(timespec="seconds") if i.created else "",
                i.containers,
                used_by_cell(i.in_use, i.used_by),
            ]
            for i in images
        ],
    )


@app.callback(invoke_without_command=True)
@connected()
def images(
    conn: Connection,
    ctx: typer.Context,
    env: EnvOpt = None,
    node: NodeOpt = None,
    unused: UnusedOpt = False,
    dangling: DanglingOpt = False,
) -> None:
    """List images, and which containers (running or stopped) use each."""
    if ctx.invoked_subcommand is None:
        list_images(env, node, conn, (unused, dangling))


# `images ls` is the same listing as `images` with no subcommand.
app.command("ls")(images)


@app.command("prune")
@connected()
def prune(
    conn: Connection,
    env: TargetEnvOpt,
    node: TargetNodeOpt = None,
) -> None:
    """Remove dangling images of an environment."""
    with conn.client() as client:
        result = client.prune_images(env, node)
    emit(
        conn.output,
        dump(result),
        f"{len(result.deleted)} images deleted, {human_size(result.space_reclaimed)} reclaimed",
    )


@connected()
def rmi(
    conn: Connection,
    image: ImageArg,
    env: TargetEnvOpt,
    node: TargetNodeOpt = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Even if containers use it.")
    ] = False,
) -> None:
    """Remove an image from an environment's engine(s)."""
    with conn.client() as client:
        result = client.remove_image(image, env, node, force=force)
    emit(conn.output, result, f"{image} removed from {env}" + (f"/{node}" if node else ""))


app.command("rm")(rmi)
top.command("rmi")(rmi)


@top.command()
@connected()
def pull(
    conn: Connection,
    image: ImageArg,
    env: TargetEnvOpt,
    node: TargetNodeOpt = None,
    registry: Annotated[
        str | None, typer.Option("--registry", help="Saved registry whose credentials to use.")
    ] = None,
) -> None:
    """Pull an image on an environment's engine(s), showing progress as it goes.

    With ``-o json`` the progress objects are printed as they come, one JSON object a line.
    """
    with conn.client() as client:
        stream = client.pull(image, env, node, registry)
        if conn.json:
            for item in stream:
                typer.echo(json.dumps(item))
                raise_if_stream_error(item)
            return
        with PullRenderer(console) as renderer:
            for item in stream:
                raise_if_stream_error(item)
                renderer.feed(item)
