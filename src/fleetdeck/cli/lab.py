"""``fleetdeck lab …``: bring a real multi-host Docker fleet up on this machine and disturb it."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from fleetdeck.lab import Lab

from fleetdeck.cli.output import OutputFormat, OutputOption, console, print_json, print_table


def _lab(name: str) -> Lab:
    """The named lab (imported here: the lab's modules are not needed by other commands)."""
    from fleetdeck.packaging import require_server_extra

    require_server_extra("lab")
    from fleetdeck.lab import Lab

    return Lab(name)


app = typer.Typer(
    help="A real multi-host Docker fleet on this machine (needs root).", no_args_is_help=True
)

NameOption = Annotated[
    str, typer.Option("--name", help="Which lab (several can run side by side).")
]
NodeArg = Annotated[str, typer.Argument(help="Node name, e.g. node2.")]


def cli_command() -> str:
    """This very CLI spelled so that any shell runs it: its absolute path, shell-quoted.

    Right after set-up the CLI lives in the clone's ``.venv/bin``, which a new shell's PATH
    does not hold (``scripts/run``'s own PATH does), so commands printed for copy-paste name
    it by path; ``lab env`` then puts its directory on PATH for the rest.
    """
    script = Path(sys.executable).parent / "fleetdeck"
    return shlex.quote(str(script.absolute())) if script.is_file() else "fleetdeck"


def cli_bin_dir() -> Path | None:
    """The directory to put on PATH so that ``fleetdeck`` is this CLI (None: it already is)."""
    script = Path(sys.executable).parent / "fleetdeck"
    found = shutil.which("fleetdeck")
    if not script.is_file() or (found and Path(found).resolve() == script.resolve()):
        return None
    return script.absolute().parent


def print_summary(status: dict[str, Any]) -> None:
    """Print a lab's status for people."""
    if status["state"] in ("absent", "partial"):
        console.print(f"lab [bold]{status['name']}[/] is {status['state']}")
        for kind, items in status.get("leftovers", {}).items():
            console.print(f"  leftover {kind}: {', '.join(items)}")
        return
    console.print(
        f"lab [bold]{status['name']}[/] {status['state']}: subnet {status['subnet']}, "
        f"gateway {status['gateway']}, registry {status['registry']} "
        f"({status['registry_state']})"
    )
    print_table(
        None,
        ["NODE", "IP", "HOSTNAME", "ENGINE", "NETWORK", "DOCKER_HOST"],
        [
            [n["name"], n["ip"], n["hostname"], n["engine"], n["network"], n["docker_host"]]
            for n in status["nodes"]
        ],
    )
    for key, ref in status["images"].items():
        console.print(f"image {key}: {ref}")
    swarm = status["swarm"]
    if swarm["enabled"]:
        console.print(f"swarm: {swarm['state']}, managers {', '.join(swarm['managers'])}")
    server = status.get("server")
    cli, name = cli_command(), status["name"]
    nodes = status["nodes"]
    example = nodes[min(1, len(nodes) - 1)]["name"] if nodes else "node1"
    web = status["images"].get("web", "")
    if server:
        console.print(f"fleetdeck server: [bold]{server['url']}[/] (UI and API)", highlight=False)
        console.print(f"  login: {server['admin_user']} / {server['admin_password']}")
        console.print(f"  CA certificate: {server['ca_cert']}", highlight=False)
        console.print("try, in any shell (the first line also puts fleetdeck on PATH):")
        for line in (
            f'eval "$({cli} lab env --name {name})"',
            "fleetdeck env ls",
            f"fleetdeck lab exec {example} --name {name} -- docker run -d --name web1 {web}",
            "fleetdeck ps",
            f"fleetdeck logs -f {example}/web1",
        ):
            console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
        return
    console.print(
        f"try: {cli} lab exec {example} --name {name} -- docker ps",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@app.command()
def up(
    nodes: Annotated[int, typer.Option("--nodes", "-n", help="How many nodes.")] = 3,
    swarm: Annotated[bool, typer.Option("--swarm", help="Form a Swarm across the nodes.")] = False,
    managers: Annotated[int, typer.Option("--managers", help="Swarm managers.")] = 1,
    subnet: Annotated[str | None, typer.Option("--subnet", help="Address range (CIDR).")] = None,
    server: Annotated[
        bool, typer.Option("--server", help="Also run a fleetdeck server and an agent per node.")
    ] = False,
    agent_mode: Annotated[
        str,
        typer.Option(
            "--agent-mode",
            help="With --server: agents as 'process' or 'container' (fleetdeck's agent image, "
            "built from this checkout's Dockerfile).",
        ),
    ] = "process",
    name: NameOption = "lab",
    output: OutputFormat = OutputOption,
) -> None:
    """Create a lab: N nodes, each a namespace with its own address and dockerd; a registry."""
    lab = _lab(name)
    with console.status(f"bringing lab {name} up…", spinner="dots"):
        _, created = lab.up(
            nodes=nodes,
            swarm=swarm,
            managers=managers,
            subnet=subnet,
            server=server,
            agent_mode=agent_mode,
        )
    status = lab.status()
    if output is OutputFormat.json:
        print_json({**status, "created": created})
        return
    if not created:
        console.print(f"lab [bold]{name}[/] is already running; nothing changed")
    print_summary(status)


@app.command()
def status(name: NameOption = "lab", output: OutputFormat = OutputOption) -> None:
    """Show the lab's nodes, gateway, registry, seed images and swarm."""
    result = _lab(name).status()
    if output is OutputFormat.json:
        print_json(result)
    else:
        print_summary(result)


@app.command()
def down(name: NameOption = "lab") -> None:
    """Remove everything the lab made (processes, namespaces, links, mounts, cgroups, state)."""
    lab = _lab(name)
    with console.status(f"removing lab {name}…", spinner="dots"):
        removed = lab.down()
    console.print(f"lab {name} removed" if removed else f"lab {name} was not there; nothing to do")


@app.command()
def partition(node: NodeArg, name: NameOption = "lab") -> None:
    """Cut the node off the network."""
    _lab(name).partition(node)
    console.print(f"{node} partitioned")


@app.command()
def heal(node: NodeArg, name: NameOption = "lab") -> None:
    """Restore the node's network."""
    _lab(name).heal(node)
    console.print(f"{node} healed")


@app.command()
def stop(node: NodeArg, name: NameOption = "lab") -> None:
    """Stop the node's Docker engine."""
    stopped = _lab(name).stop_node(node)
    console.print(f"{node} engine stopped" if stopped else f"{node} engine was not running")


@app.command()
def start(node: NodeArg, name: NameOption = "lab") -> None:
    """Start the node's Docker engine."""
    started = _lab(name).start_node(node)
    console.print(f"{node} engine started" if started else f"{node} engine was running")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec(  # noqa: A001 - the command is called exec
    node: NodeArg,
    command: Annotated[list[str], typer.Argument(help="Command to run, after --.")],
    name: NameOption = "lab",
) -> None:
    """Run a command inside the node (its network, hostname and DOCKER_HOST)."""
    sys.exit(_lab(name).exec(node, command))


@app.command("env")
def env_(name: NameOption = "lab") -> None:
    """Print shell exports that point the CLI at the lab's server: eval "$(fleetdeck lab env)"."""
    record = _lab(name).require_record()
    if record.server is None:
        from fleetdeck.errors import NotFoundError

        raise NotFoundError(
            f"lab {name!r} runs no fleetdeck server",
            hint=f"recreate it with: fleetdeck lab down --name {name} && "
            f"fleetdeck lab up --server --name {name}",
        )
    server = record.server
    typer.echo(f"export FLEETDECK_URL={shlex.quote(server.url)}")
    typer.echo(f"export FLEETDECK_CA_CERT={shlex.quote(str(server.ca_cert))}")
    typer.echo(f"export FLEETDECK_TOKEN={shlex.quote(server.token)}")
    typer.echo(f"export FLEETDECK_LAB_REGISTRY={shlex.quote(str(record.registry))}")
    bin_dir = cli_bin_dir()
    if bin_dir is not None:
        typer.echo(f'export PATH={shlex.quote(str(bin_dir))}:"$PATH"')
