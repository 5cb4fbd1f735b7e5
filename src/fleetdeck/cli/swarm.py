"""Docker Swarm commands: ``nodes …``, ``services …`` and ``scale``.

The contract gives nodes, services and tasks no fixed model, so the server may send Docker's
documents (``Spec.Name``…) or a flat summary (``name``…); :func:`pick` reads either.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fleetdeck.cli.common import (
    Connection,
    connected,
    emit,
    parse_labels,
    short_id,
    split_ref,
)
from fleetdeck.cli.container_io import print_log_lines
from fleetdeck.cli.output import OutputFormat, print_json, print_table
from fleetdeck.errors import InvalidInputError, NotFoundError

nodes = typer.Typer(help="Swarm nodes of an environment.", no_args_is_help=True)
services = typer.Typer(help="Swarm services of an environment.", no_args_is_help=True)
top = typer.Typer()

EnvArg = Annotated[str, typer.Argument(help="Environment (a Swarm manager's).")]
NodeRefArg = Annotated[str, typer.Argument(help="ENV/NODE (node id or hostname).")]
SvcRefArg = Annotated[str, typer.Argument(help="ENV/SERVICE (service name or id).")]


def pick(obj: dict[str, Any], *paths: str) -> Any:
    """The first of several dotted paths present in ``obj`` (summary keys, then Docker's)."""
    for path in paths:
        value: Any = obj
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            if value is not None:
                return value
    return None


def node_row(n: dict[str, Any]) -> list[Any]:
    """One ``nodes ls`` row."""
    leader = pick(n, "leader", "ManagerStatus.Leader")
    return [
        short_id(pick(n, "id", "ID")),
        pick(n, "hostname", "Description.Hostname"),
        pick(n, "state", "status", "Status.State"),
        pick(n, "availability", "Spec.Availability"),
        "leader" if leader else pick(n, "role", "Spec.Role"),
        pick(n, "engine_version", "Description.Engine.EngineVersion"),
        pick(n, "addr", "address", "Status.Addr"),
    ]


def service_row(s: dict[str, Any]) -> list[Any]:
    """One ``services ls`` row."""
    replicas = pick(s, "replicas", "Spec.Mode.Replicated.Replicas")
    running = pick(s, "running", "ServiceStatus.RunningTasks")
    mode = pick(s, "mode") or (
        "global" if pick(s, "Spec.Mode.Global") is not None else "replicated"
    )
    shown = f"{running}/{replicas}" if running is not None and replicas is not None else replicas
    return [
        short_id(pick(s, "id", "ID")),
        pick(s, "name", "Spec.Name"),
        mode,
        shown,
        pick(s, "image_ref", "image", "Spec.TaskTemplate.ContainerSpec.Image"),
    ]


def task_row(t: dict[str, Any]) -> list[Any]:
    """One ``services tasks`` row."""
    return [
        short_id(pick(t, "id", "ID")),
        pick(t, "slot", "Slot"),
        pick(t, "node", "hostname", "NodeID"),
        pick(t, "state", "Status.State"),
        pick(t, "desired_state", "DesiredState"),
        pick(t, "image_ref", "image", "Spec.ContainerSpec.Image"),
        pick(t, "error", "Status.Err"),
    ]


BareEnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="List this environment's.")]


@nodes.callback(invoke_without_command=True)
@connected()
def nodes_main(
    conn: Connection,
    ctx: typer.Context,
    env: BareEnvOpt = None,
) -> None:
    """Swarm nodes of an environment (`nodes -e ENV` is `nodes ls ENV`)."""
    if ctx.invoked_subcommand is None and env:
        nodes_ls(conn, env)


def nodes_ls(
    conn: Connection,
    env: EnvArg,
) -> None:
    """List the Swarm's nodes."""
    with conn.client() as client:
        items = client.list_swarm_nodes(env)
    if conn.json:
        print_json(items)
        return
    columns = ["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "ROLE", "ENGINE", "ADDRESS"]
    print_table(None, columns, [node_row(n) for n in items])


nodes.command("ls")(connected()(nodes_ls))


def _set_availability(ref: str, availability: str, conn: Connection) -> None:
    env, node = split_ref(ref, "node")
    with conn.client() as client:
        result = client.update_swarm_node(env, node, availability=availability)
    emit(conn.output, result, f"node {ref} availability: {availability}")


@nodes.command("drain")
@connected()
def nodes_drain(
    conn: Connection,
    ref: NodeRefArg,
) -> None:
    """Move the node's tasks elsewhere and schedule none on it."""
    _set_availability(ref, "drain", conn)


@nodes.command("activate")
@connected()
def nodes_activate(
    conn: Connection,
    ref: NodeRefArg,
) -> None:
    """Let the node take tasks again."""
    _set_availability(ref, "active", conn)


@nodes.command("pause")
@connected()
def nodes_pause(
    conn: Connection,
    ref: NodeRefArg,
) -> None:
    """Keep the node's tasks but schedule no new ones on it."""
    _set_availability(ref, "pause", conn)


def _find_node(items: list[dict[str, Any]], node: str) -> dict[str, Any]:
    for item in items:
        names = {pick(item, "id", "ID"), pick(item, "hostname", "Description.Hostname")}
        names |= {pick(item, "name", "Spec.Name")}
        if node in names or str(pick(item, "id", "ID") or "").startswith(node):
            return item
    raise NotFoundError(f"no swarm node {node!r}")


@nodes.command("label")
@connected()
def nodes_label(
    conn: Connection,
    ref: NodeRefArg,
    add: Annotated[list[str] | None, typer.Argument(help="Labels to set, K=V.")] = None,
    remove: Annotated[list[str] | None, typer.Option("--rm", help="Label key to remove.")] = None,
) -> None:
    """Add or change (K=V) and remove (--rm K) labels of a node, keeping the others."""
    env, node = split_ref(ref, "node")
    if not add and not remove:
        raise InvalidInputError("no label change given", hint="e.g. `nodes label ENV/NODE zone=a`")
    with conn.client() as client:
        current = pick(_find_node(client.list_swarm_nodes(env), node), "labels", "Spec.Labels")
        labels = dict(current or {}) | parse_labels(add)
        for key in remove or []:
            labels.pop(key, None)
        result = client.update_swarm_node(env, node, labels=labels)
    emit(conn.output, result, f"node {ref} labels: {labels or '{}'}")


@services.callback(invoke_without_command=True)
@connected()
def services_main(
    conn: Connection,
    ctx: typer.Context,
    env: BareEnvOpt = None,
) -> None:
    """Swarm services of an environment (`services -e ENV` is `services ls ENV`)."""
    if ctx.invoked_subcommand is None and env:
        services_ls(conn, env)


def services_ls(
    conn: Connection,
    env: EnvArg,
) -> None:
    """List the Swarm's services."""
    with conn.client() as client:
        items = client.list_services(env)
    if conn.json:
        print_json(items)
        return
    print_table(None, ["ID", "NAME", "MODE", "REPLICAS", "IMAGE"], [service_row(s) for s in items])


services.command("ls")(connected()(services_ls))


@services.command("inspect")
@connected(OutputFormat.json)
def services_inspect(
    conn: Connection,
    ref: SvcRefArg,
) -> None:
    """Print a service's document (always JSON)."""
    env, svc = split_ref(ref, "service")
    with conn.client() as client:
        print_json(client.get_service(env, svc))


@services.command("tasks")
@connected()
def services_tasks(
    conn: Connection,
    ref: SvcRefArg,
) -> None:
    """List a service's tasks (its replicas, past and present)."""
    env, svc = split_ref(ref, "service")
    with conn.client() as client:
        items = client.service_tasks(env, svc)
    if conn.json:
        print_json(items)
        return
    columns = ["ID", "SLOT", "NODE", "STATE", "DESIRED", "IMAGE", "ERROR"]
    print_table(None, columns, [task_row(t) for t in items])


@services.command("logs")
@connected()
def services_logs(
    conn: Connection,
    ref: SvcRefArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    tail: Annotated[
        int | None, typer.Option("--tail", min=0, help="Only the last N lines.")
    ] = None,
) -> None:
    """Print a service's conn.output (every task's); with -f, keep printing."""
    env, svc = split_ref(ref, "service")
    with conn.client() as client:
        print_log_lines(client.service_logs(env, svc, follow=follow, tail=tail), conn.output, False)


@services.command("update")
@connected()
def services_update(
    conn: Connection,
    ref: SvcRefArg,
    image: Annotated[str, typer.Option("--image", help="Roll the service to this image.")],
) -> None:
    """Roll a service to another image."""
    env, svc = split_ref(ref, "service")
    with conn.client() as client:
        result = client.update_service_image(env, svc, image)
    emit(conn.output, result, f"service {ref} updating to {image}")


@services.command("rollback")
@connected()
def services_rollback(
    conn: Connection,
    ref: SvcRefArg,
) -> None:
    """Roll a service back to its previous spec."""
    env, svc = split_ref(ref, "service")
    with conn.client() as client:
        result = client.rollback_service(env, svc)
    emit(conn.output, result, f"service {ref} rolling back")


@services.command("rm")
@connected()
def services_rm(
    conn: Connection,
    ref: SvcRefArg,
) -> None:
    """Remove a service."""
    env, svc = split_ref(ref, "service")
    with conn.client() as client:
        result = client.remove_service(env, svc)
    emit(conn.output, result, f"service {ref} removed")


def parse_scale_args(args: list[str]) -> list[tuple[str, int]]:
    """``REF=N`` items, or ``REF N`` pairs, as ``(ref, replicas)`` (REF: STACK/SVC or ENV/SVC)."""
    out: list[tuple[str, int]] = []
    rest = list(args)
    while rest:
        ref = rest.pop(0)
        if "=" in ref:
            ref, count = ref.split("=", 1)
        elif rest:
            count = rest.pop(0)
        else:
            raise InvalidInputError(f"no replica count for {ref!r}", hint="STACK/SERVICE=N")
        if not count.isdigit():
            raise InvalidInputError(f"invalid replica count {count!r} for {ref!r}")
        out.append((ref, int(count)))
    return out


def _scale_one(client: Any, ref: str, replicas: int) -> dict[str, Any]:
    """Scale ``STACK/SERVICE`` (a managed stack's service) or else ``ENV/SERVICE`` (Swarm)."""
    first, svc = split_ref(ref, "service")
    try:
        client.get_stack(first)
    except (NotFoundError, InvalidInputError):  # not a stack's name: an environment's
        return {"ref": ref, "replicas": replicas, **client.scale_service(first, svc, replicas)}
    result: dict[str, Any] = client.scale_stack_service(first, svc, replicas)
    return {"ref": ref, **result}


@top.command()
@connected()
def scale(
    conn: Connection,
    targets: Annotated[
        list[str], typer.Argument(help="STACK/SERVICE=N or ENV/SERVICE=N (or REF N)...")
    ],
) -> None:
    """Set the replica count of stack services (plain host or Swarm) or Swarm services.

    ``STACK/SERVICE`` names a service of a managed stack: new replicas join its name once
    healthy, removed ones drain first, and the count is kept over deploys until the
    file's own count changes. Anything else is ``ENV/SERVICE``, a Swarm service.
    """
    wanted = parse_scale_args(targets)
    results = []
    with conn.client() as client:
        for ref, replicas in wanted:
            results.append(_scale_one(client, ref, replicas))
    if conn.json:
        print_json(results)
    else:
        for item in results:
            typer.echo(f"{item['ref']} scaled to {item['replicas']}")
