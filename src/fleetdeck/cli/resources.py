"""``fleetdeck volumes …`` and ``fleetdeck networks …`` (bare group names list).

Volumes and networks live on one engine; commands that change one name it as ``ENV/NAME``
and take ``--node`` in multi-node environments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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
    parse_labels,
    short_id,
    split_ref,
    used_by_cell,
    warn_unreachable,
)
from fleetdeck.cli.output import err_console, print_json, print_table
from fleetdeck.wire.resources import DISK_USAGE_WAIT_S

if TYPE_CHECKING:
    from fleetdeck.wire.resources import FleetVolume

volumes = typer.Typer(help="Volumes on the fleet's engines (bare `volumes` lists them).")
networks = typer.Typer(help="Networks on the fleet's engines (bare `networks` lists them).")

LabelOpt = Annotated[list[str] | None, typer.Option("--label", "-l", help="K=V (repeatable).")]
DriverOpt = Annotated[str | None, typer.Option("--driver", "-d", help="Driver.")]


def _prune_message(deleted: list[str], space: int) -> str:
    return f"{len(deleted)} deleted, {human_size(space)} reclaimed"


SizeOpt = Annotated[
    bool,
    typer.Option(
        "--size",
        help=f"Measure each volume's size (the engine walks its files; at most "
        f"{DISK_USAGE_WAIT_S:g} s a node).",
    ),
]
#: What the SIZE column says when a volume has no measured size.
_SIZE_CELLS = {"timed_out": "timed out", "unknown": "?", "failed": "failed"}


def _size_cell(volume: FleetVolume) -> str:
    if volume.size_status == "measured":
        return human_size(volume.size)
    return _SIZE_CELLS.get(volume.size_status, "")


def list_volumes(
    env: str | None,
    node: str | None,
    conn: Connection,
    filters: tuple[bool, bool] = (False, False),
) -> None:
    """Print the volumes of the fleet (or of one environment or node).

    ``filters`` is (size, unused): measure sizes (a SIZE column) / keep unmounted volumes.
    """
    size, unused = filters
    with conn.client() as client:
        page = client.list_volumes(env, node, size=size, unused=unused)
    warn_unreachable(page.unreachable)
    items = page.items
    if conn.json:
        print_json([dump(v) for v in items])
        return
    failed = {v.size_error for v in items if v.size_status == "failed" and v.size_error}
    for reason in sorted(failed):
        err_console.print(f"warning: sizes not measured: {reason}", highlight=False, markup=False)
    columns = ["ENVIRONMENT", "NODE", "NAME", "DRIVER", "SCOPE", "MOUNTPOINT", "USED BY"]
    rows = [
        [v.environment, v.node, v.name, v.driver, v.scope, v.mountpoint]
        + [used_by_cell(v.in_use, v.used_by)]
        + ([_size_cell(v)] if size else [])
        for v in items
    ]
    print_table(None, columns + (["SIZE"] if size else []), rows)


@volumes.callback(invoke_without_command=True)
@connected()
def volumes_main(
    conn: Connection,
    ctx: typer.Context,
    env: EnvOpt = None,
    node: NodeOpt = None,
    size: SizeOpt = False,
    unused: UnusedOpt = False,
) -> None:
    """List volumes, the containers (running or stopped) mounting each, and their sizes."""
    if ctx.invoked_subcommand is None:
        list_volumes(env, node, conn, (size, unused))


# `volumes ls` is the same listing as `volumes` with no subcommand.
volumes.command("ls")(volumes_main)


@volumes.command("create")
@connected()
def volumes_create(
    conn: Connection,
    ref: Annotated[str, typer.Argument(help="ENV/NAME of the new volume.")],
    node: TargetNodeOpt = None,
    driver: DriverOpt = None,
    label: LabelOpt = None,
) -> None:
    """Create a volume."""
    env, name = split_ref(ref, "volume")
    with conn.client() as client:
        result = client.create_volume(env, name, node, driver, parse_labels(label))
    emit(conn.output, result, f"volume {ref} created")


@volumes.command("rm")
@connected()
def volumes_rm(
    conn: Connection,
    ref: Annotated[str, typer.Argument(help="ENV/NAME of the volume.")],
    node: TargetNodeOpt = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Force removal.")] = False,
) -> None:
    """Remove a volume."""
    env, name = split_ref(ref, "volume")
    with conn.client() as client:
        result = client.remove_volume(env, name, node, force=force)
    emit(conn.output, result, f"volume {ref} removed")


@volumes.command("prune")
@connected()
def volumes_prune(
    conn: Connection,
    env: TargetEnvOpt,
    node: TargetNodeOpt = None,
) -> None:
    """Remove the volumes no container uses."""
    with conn.client() as client:
        result = client.prune_volumes(env, node)
    emit(
        conn.output,
        dump(result),
        "volumes: " + _prune_message(result.deleted, result.space_reclaimed),
    )


def list_networks(env: str | None, node: str | None, conn: Connection) -> None:
    """Print the networks of the fleet (or of one environment or node)."""
    with conn.client() as client:
        page = client.list_networks(env, node)
    warn_unreachable(page.unreachable)
    items = page.items
    if conn.json:
        print_json([dump(n) for n in items])
        return
    print_table(
        None,
        ["ENVIRONMENT", "NODE", "NAME", "ID", "DRIVER", "SCOPE", "SUBNETS"],
        [
            [n.environment, n.node, n.name, short_id(n.id), n.driver, n.scope, ",".join(n.subnets)]
            for n in items
        ],
    )


@networks.callback(invoke_without_command=True)
@connected()
def networks_main(
    conn: Connection,
    ctx: typer.Context,
    env: EnvOpt = None,
    node: NodeOpt = None,
) -> None:
    """List networks."""
    if ctx.invoked_subcommand is None:
        list_networks(env, node, conn)


# `networks ls` is the same listing as `networks` with no subcommand.
networks.command("ls")(networks_main)


@networks.command("create")
@connected()
def networks_create(
    conn: Connection,
    ref: Annotated[str, typer.Argument(help="ENV/NAME of the new network.")],
    node: TargetNodeOpt = None,
    driver: DriverOpt = None,
    label: LabelOpt = None,
    attachable: Annotated[
        bool, typer.Option("--attachable", help="Let standalone containers join (overlay).")
    ] = False,
) -> None:
    """Create a network."""
    env, name = split_ref(ref, "network")
    with conn.client() as client:
        result = client.create_network(
            env, name, node, driver, parse_labels(label), attachable or None
        )
    emit(conn.output, result, f"network {ref} created")


@networks.command("rm")
@connected()
def networks_rm(
    conn: Connection,
    ref: Annotated[str, typer.Argument(help="ENV/NAME of the network.")],
    node: TargetNodeOpt = None,
) -> None:
    """Remove a network."""
    env, name = split_ref(ref, "network")
    with conn.client() as client:
        result = client.remove_network(env, name, node)
    emit(conn.output, result, f"network {ref} removed")


@networks.command("prune")
@connected()
def networks_prune(
    conn: Connection,
    env: TargetEnvOpt,
    node: TargetNodeOpt = None,
) -> None:
    """Remove the networks no container uses."""
    with conn.client() as client:
        result = client.prune_networks(env, node)
    emit(conn.output, dump(result), f"networks: {len(result.deleted)} deleted")


NetRefArg = Annotated[str, typer.Argument(help="ENV/NAME of the network.")]
ContainerArg = Annotated[str, typer.Argument(help="Container name or id (in that environment).")]


@networks.command("connect")
@connected()
def networks_connect(
    conn: Connection,
    ref: NetRefArg,
    container: ContainerArg,
    node: TargetNodeOpt = None,
) -> None:
    """Connect a container to a network."""
    env, name = split_ref(ref, "network")
    with conn.client() as client:
        result = client.connect_network(env, name, container, node)
    emit(conn.output, result, f"{container} connected to {ref}")


@networks.command("disconnect")
@connected()
def networks_disconnect(
    conn: Connection,
    ref: NetRefArg,
    container: ContainerArg,
    node: TargetNodeOpt = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Force disconnection.")] = False,
) -> None:
    """Disconnect a container from a network."""
    env, name = split_ref(ref, "network")
    with conn.client() as client:
        result = client.disconnect_network(env, name, container, node, force=force)
    emit(conn.output, result, f"{container} disconnected from {ref}")
