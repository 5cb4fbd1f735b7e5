"""``fleetdeck volumes …`` and ``fleetdeck networks …`` (bare group names list).

Volumes and networks live on one engine; commands that change one name it as ``ENV/NAME``
and take ``--node`` in multi-node environments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fleetdeck.cli.common import (
    CaCertOpt,
    EnvOpt,
    NodeOpt,
    OutputOpt,
    TargetEnvOpt,
    TargetNodeOpt,
    TokenOpt,
    UnusedOpt,
    UrlOpt,
    client_from,
    dump,
    emit,
    human_size,
    parse_labels,
    short_id,
    split_ref,
    used_by_cell,
    warn_unreachable,
)
from fleetdeck.cli.output import OutputFormat, err_console, print_json, print_table
from fleetdeck.resource_types import DISK_USAGE_WAIT_S

if TYPE_CHECKING:
    from fleetdeck.client.models import FleetVolume

volumes = typer.Typer(help="Volumes on the fleet's engines (bare `volumes` lists them).")
networks = typer.Typer(help="Networks on the fleet's engines (bare `networks` lists them).")

Conn = tuple[str | None, str | None, str | None]
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
    conn: Conn,
    output: OutputFormat,
    filters: tuple[bool, bool] = (False, False),
) -> None:
    """Print the volumes of the fleet (or of one environment or node).

    ``filters`` is (size, unused): measure sizes (a SIZE column) / keep unmounted volumes.
    """
    size, unused = filters
    with client_from(*conn) as client:
        page = client.list_volumes(env, node, size=size, unused=unused)
    warn_unreachable(page.unreachable)
    items = page.items
    if output is OutputFormat.json:
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
def volumes_main(
    ctx: typer.Context,
    env: EnvOpt = None,
    node: NodeOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
    size: SizeOpt = False,
    unused: UnusedOpt = False,
) -> None:
    """List volumes (same as `volumes ls`)."""
    if ctx.invoked_subcommand is None:
        list_volumes(env, node, (url, token, ca_cert), output, (size, unused))


@volumes.command("ls")
def volumes_ls(
    env: EnvOpt = None,
    node: NodeOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
    size: SizeOpt = False,
    unused: UnusedOpt = False,
) -> None:
    """List volumes, the containers (running or stopped) mounting each, and their sizes."""
    list_volumes(env, node, (url, token, ca_cert), output, (size, unused))


@volumes.command("create")
def volumes_create(
    ref: Annotated[str, typer.Argument(help="ENV/NAME of the new volume.")],
    node: TargetNodeOpt = None,
    driver: DriverOpt = None,
    label: LabelOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Create a volume."""
    env, name = split_ref(ref, "volume")
    with client_from(url, token, ca_cert) as client:
        result = client.create_volume(env, name, node, driver, parse_labels(label))
    emit(output, result, f"volume {ref} created")


@volumes.command("rm")
def volumes_rm(
    ref: Annotated[str, typer.Argument(help="ENV/NAME of the volume.")],
    node: TargetNodeOpt = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Force removal.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Remove a volume."""
    env, name = split_ref(ref, "volume")
    with client_from(url, token, ca_cert) as client:
        result = client.remove_volume(env, name, node, force=force)
    emit(output, result, f"volume {ref} removed")


@volumes.command("prune")
def volumes_prune(
    env: TargetEnvOpt,
    node: TargetNodeOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Remove the volumes no container uses."""
    with client_from(url, token, ca_cert) as client:
        result = client.prune_volumes(env, node)
    emit(output, dump(result), "volumes: " + _prune_message(result.deleted, result.space_reclaimed))


def list_networks(env: str | None, node: str | None, conn: Conn, output: OutputFormat) -> None:
    """Print the networks of the fleet (or of one environment or node)."""
    with client_from(*conn) as client:
        page = client.list_networks(env, node)
    warn_unreachable(page.unreachable)
    items = page.items
    if output is OutputFormat.json:
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
def networks_main(
    ctx: typer.Context,
    env: EnvOpt = None,
    node: NodeOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List networks (same as `networks ls`)."""
    if ctx.invoked_subcommand is None:
        list_networks(env, node, (url, token, ca_cert), output)


@networks.command("ls")
def networks_ls(
    env: EnvOpt = None,
    node: NodeOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List networks."""
    list_networks(env, node, (url, token, ca_cert), output)


@networks.command("create")
def networks_create(
    ref: Annotated[str, typer.Argument(help="ENV/NAME of the new network.")],
    node: TargetNodeOpt = None,
    driver: DriverOpt = None,
    label: LabelOpt = None,
    attachable: Annotated[
        bool, typer.Option("--attachable", help="Let standalone containers join (overlay).")
    ] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Create a network."""
    env, name = split_ref(ref, "network")
    with client_from(url, token, ca_cert) as client:
        result = client.create_network(
            env, name, node, driver, parse_labels(label), attachable or None
        )
    emit(output, result, f"network {ref} created")


@networks.command("rm")
def networks_rm(
    ref: Annotated[str, typer.Argument(help="ENV/NAME of the network.")],
    node: TargetNodeOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Remove a network."""
    env, name = split_ref(ref, "network")
    with client_from(url, token, ca_cert) as client:
        result = client.remove_network(env, name, node)
    emit(output, result, f"network {ref} removed")


@networks.command("prune")
def networks_prune(
    env: TargetEnvOpt,
    node: TargetNodeOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Remove the networks no container uses."""
    with client_from(url, token, ca_cert) as client:
        result = client.prune_networks(env, node)
    emit(output, dump(result), f"networks: {len(result.deleted)} deleted")


NetRefArg = Annotated[str, typer.Argument(help="ENV/NAME of the network.")]
ContainerArg = Annotated[str, typer.Argument(help="Container name or id (in that environment).")]


@networks.command("connect")
def networks_connect(
    ref: NetRefArg,
    container: ContainerArg,
    node: TargetNodeOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Connect a container to a network."""
    env, name = split_ref(ref, "network")
    with client_from(url, token, ca_cert) as client:
        result = client.connect_network(env, name, container, node)
    emit(output, result, f"{container} connected to {ref}")


@networks.command("disconnect")
def networks_disconnect(
    ref: NetRefArg,
    container: ContainerArg,
    node: TargetNodeOpt = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Force disconnection.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    ca_cert: CaCertOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Disconnect a container from a network."""
    env, name = split_ref(ref, "network")
    with client_from(url, token, ca_cert) as client:
        result = client.disconnect_network(env, name, container, node, force=force)
    emit(output, result, f"{container} disconnected from {ref}")
