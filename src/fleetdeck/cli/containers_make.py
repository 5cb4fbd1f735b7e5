"""Commands that make containers: ``recreate`` (same config, new container) and ``run``.

``run`` takes Docker's flags where it can; ``--env``/``-e`` is already fleetdeck's environment
option everywhere, so environment variables are ``--env-var``/``-E``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from fleetdeck.cli.common import (
    Connection,
    TargetEnvOpt,
    TargetNodeOpt,
    connected,
    dump,
    short_id,
)
from fleetdeck.cli.containers import RefsArg, TimeOpt  # noqa: TC001 - Typer reads them
from fleetdeck.cli.output import print_json
from fleetdeck.container_spec import ContainerSpec, MountSpec, PortSpec
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from fleetdeck.wire.containers import ActionResult

app = typer.Typer()


@app.command()
@connected()
def recreate(
    conn: Connection,
    refs: RefsArg,
    pull: Annotated[
        bool, typer.Option("--pull", help="Pull the image first (a failed pull changes nothing).")
    ] = False,
    time: TimeOpt = None,
) -> None:
    """Replace containers by new ones with the same configuration (name, env, mounts, ports…).

    The new container is created before the old one is touched: if the pull or the create
    fails, the old one runs on as it was. Containers of a fleetdeck stack are refused (deploy
    the stack instead).
    """
    results: list[tuple[str, ActionResult]] = []
    with conn.client() as client:
        for ref in refs:
            results.append((ref, client.recreate_container(ref, pull=pull, timeout=time)))
    if conn.json:
        print_json([{"ref": ref, **dump(result)} for ref, result in results])
        return
    for ref, result in results:
        c = result.container
        typer.echo(f"{c.environment}/{c.name} recreated ({short_id(c.id)})" if c else f"{ref} ?")


def _port(text: str) -> PortSpec:
    """``[IP:]HOST:CONTAINER[/PROTO]`` or ``CONTAINER[/PROTO]`` (exposed, not published)."""
    spec, _, proto = text.partition("/")
    parts = spec.rsplit(":", 2)
    try:
        numbers = [int(p) if p else None for p in parts[-2:]]
    except ValueError:
        raise InvalidInputError(f"--publish {text!r}: ports are numbers") from None
    fields: dict[str, object] = {"container_port": numbers[-1], "protocol": proto or "tcp"}
    if len(parts) >= 2:
        fields["host_port"] = numbers[0] or 0
    if len(parts) == 3:
        fields["host_ip"] = parts[0]
    return PortSpec.model_validate(fields)


def _mount(text: str) -> MountSpec:
    """``SOURCE:TARGET[:ro]``: a named volume, or a bind when SOURCE is a path."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
        raise InvalidInputError(f"--volume {text!r}: give SOURCE:TARGET[:ro]")
    kind = "bind" if parts[0].startswith(("/", ".", "~")) else "volume"
    fields = {
        "type": kind,
        "source": parts[0],
        "target": parts[1],
        "read_only": parts[2:] == ["ro"],
    }
    return MountSpec.model_validate(fields)


def _labels(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out


@app.command(context_settings={"allow_interspersed_args": False})
@connected()
def run(
    conn: Connection,
    image: Annotated[str, typer.Argument(help="Image to run (pulled if the node lacks it).")],
    env: TargetEnvOpt,
    command: Annotated[
        list[str] | None, typer.Argument(help="Command (and arguments) instead of the image's.")
    ] = None,
    node: TargetNodeOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="Container name.")] = None,
    env_var: Annotated[
        list[str] | None, typer.Option("--env-var", "-E", help="KEY=VALUE (repeatable).")
    ] = None,
    publish: Annotated[
        list[str] | None,
        typer.Option(
            "--publish",
            "-p",
            help="HOST:CONTAINER, IP:HOST:CONTAINER; add /udp for UDP (repeatable).",
        ),
    ] = None,
    volume: Annotated[
        list[str] | None,
        typer.Option(
            "--volume",
            "-v",
            help="VOLUME:/PATH, add :ro to read only; host paths: admins (repeatable).",
        ),
    ] = None,
    network: Annotated[
        list[str] | None, typer.Option("--network", help="Network to join (repeatable).")
    ] = None,
    restart: Annotated[
        str, typer.Option("--restart", help="no, always, unless-stopped or on-failure.")
    ] = "no",
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="KEY=VALUE (repeatable).")
    ] = None,
    entrypoint: Annotated[
        str | None, typer.Option("--entrypoint", help="Entrypoint instead of the image's.")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", "-u", help="User (name or uid).")] = None,
    workdir: Annotated[str | None, typer.Option("--workdir", "-w", help="Working dir.")] = None,
    privileged: Annotated[
        bool, typer.Option("--privileged", help="Full access to the host (admin-only).")
    ] = False,
    cap_add: Annotated[
        list[str] | None, typer.Option("--cap-add", help="Add a capability (admin-only).")
    ] = None,
    pull: Annotated[
        str, typer.Option("--pull", help="missing (default), always or never.")
    ] = "missing",
    no_start: Annotated[bool, typer.Option("--no-start", help="Create only.")] = False,
) -> None:
    """Create and start a container on a node, like ``docker run -d`` (options before IMAGE).

    What gives a container root on its node (--privileged, a dangerous --cap-add, a host path
    as volume, --network host) is an admin's alone, by the same rules as a stack deploy.
    """
    host_network = "host" in (network or [])
    try:
        spec = ContainerSpec.model_validate(
            {
                "image": image,
                "name": name,
                "env": env_var or [],
                "cmd": command or None,
                "entrypoint": [entrypoint] if entrypoint is not None else None,
                "ports": [_port(p) for p in publish or []],
                "mounts": [_mount(v) for v in volume or []],
                "networks": [n for n in network or [] if n != "host"],
                "network_mode": "host" if host_network else None,
                "restart": restart,
                "labels": _labels(label or []),
                "user": user,
                "working_dir": workdir,
                "privileged": privileged,
                "cap_add": cap_add or [],
                "pull": pull,
                "start": not no_start,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise InvalidInputError(f"invalid container: {problems}") from None
    with conn.client() as client:
        result = client.create_container(env, spec, node=node)
    if conn.json:
        print_json(dump(result))
        return
    c = result.container
    for finding in result.findings:
        typer.echo(f"warning: {finding.rule}: {finding.message}", err=True)
    if c is not None:
        typer.echo(f"{c.environment}/{c.name} {c.state} ({short_id(c.id)})")
