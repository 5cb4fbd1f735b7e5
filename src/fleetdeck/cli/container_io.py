"""Commands that read from or run in a container: ``logs``, ``stats``, ``exec``."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from fleetdeck.cli.common import (
    Connection,
    EnvOpt,
    NodeOpt,
    connected,
    dump,
    human_size,
)
from fleetdeck.cli.exec_session import run_attached
from fleetdeck.cli.logs_fleet import FleetLogRequest, check_combination, run_search, run_tail
from fleetdeck.cli.output import OutputFormat, print_json, print_table
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fleetdeck.wire.containers import ContainerStats, LogLine

app = typer.Typer()

RefArg = Annotated[str, typer.Argument(help="Container: ENV/NAME, ENV/ID or an id prefix.")]


def print_log_lines(lines: Iterable[LogLine], output: OutputFormat, timestamps: bool) -> None:
    """Print log lines the moment each arrives (stderr lines to stderr, as docker does).

    With ``-o json`` each line is one JSON object on its own line (NDJSON), so a follower
    can parse the stream while it is still open.
    """
    try:
        for line in lines:
            if output is OutputFormat.json:
                typer.echo(json.dumps(dump(line)))
                continue
            prefix = f"{line.time.isoformat()} " if timestamps and line.time else ""
            typer.echo(f"{prefix}{line.line}", err=line.stream == "stderr")
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


ContainerOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--container", "-c", help="Fleet-wide: only this container (name or id prefix; repeat)."
    ),
]


@app.command()
@connected()
def logs(
    conn: Connection,
    ref: Annotated[
        str | None,
        typer.Argument(
            help="One container (ENV/NAME, ENV/ID or id prefix); omit it for the fleet."
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    tail: Annotated[
        int | None,
        typer.Option(
            "--tail", min=0, help="Only the last N lines (with -f: stored lines shown first)."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only since a time (RFC 3339) or duration (10m).")
    ] = None,
    timestamps: Annotated[
        bool, typer.Option("--timestamps", "-t", help="Prefix each line with its time.")
    ] = False,
    search: Annotated[
        str | None,
        typer.Option("--search", "-s", help="Fleet-wide: stored lines with all these words."),
    ] = None,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw", help="Fleet-wide: --search is an FTS5 expression (AND/OR/NOT, NEAR)."
        ),
    ] = False,
    env: EnvOpt = None,
    node: NodeOpt = None,
    container: ContainerOpt = None,
    stack: Annotated[
        str | None, typer.Option("--stack", help="Fleet-wide: only this stack.")
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="Fleet-wide: only this service.")
    ] = None,
    stream: Annotated[
        str | None, typer.Option("--stream", help="Fleet-wide: stdout or stderr.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Search: only before a time or duration ago.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Search: at most N hits (default 100).")
    ] = None,
    offset: Annotated[
        int | None, typer.Option("--offset", help="Search: skip the newest N hits.")
    ] = None,
) -> None:
    """Print a container's output, or search / follow the logs of the whole fleet.

    fleetdeck logs CONTAINER [-f]: one container, from its engine.
    fleetdeck logs --search TEXT [--stack S] [--since 1h]: stored lines of every node.
    fleetdeck logs -f --stack NAME: the merged live tail of a stack (or --service, --container).
    """
    request = FleetLogRequest(
        search=search, raw=raw, environment=env, node=node, containers=container or [],
        stack=stack, service=service, stream=stream, until=until, limit=limit, offset=offset,
    )  # fmt: skip
    check_combination(ref, request, follow=follow, tail=tail)
    with conn.client() as client:
        if ref is None and follow:
            run_tail(client, request, tail, conn.output)
        elif ref is None:
            run_search(client, request, since, conn.output)
        else:
            lines = client.logs(ref, follow=follow, tail=tail, since=since, timestamps=timestamps)
            print_log_lines(lines, conn.output, timestamps)


def _pct(value: float) -> str:
    return f"{value:.2f}%"


def stats_row(ref: str, s: ContainerStats) -> list[str]:
    """One ``stats`` table row (Docker's columns)."""
    return [
        ref,
        _pct(s.cpu_percent),
        f"{human_size(s.memory_usage)} / {human_size(s.memory_limit)}",
        _pct(s.memory_percent),
        f"{human_size(s.net_rx)} / {human_size(s.net_tx)}",
        f"{human_size(s.blk_read)} / {human_size(s.blk_write)}",
        str(s.pids),
    ]


@app.command()
@connected()
def stats(
    conn: Connection,
    refs: Annotated[
        list[str] | None, typer.Argument(help="Containers (default: every running one).")
    ] = None,
    env: EnvOpt = None,
) -> None:
    """Show one reading of CPU, memory, network and block I/O of containers."""
    with conn.client() as client:
        if not refs:
            running = client.list_containers(environment=env, state="running").items
            refs = [f"{c.environment}/{c.name}" for c in running]
        readings = [(ref, client.stats(ref)) for ref in refs]
    if conn.json:
        print_json([{"ref": ref, **dump(s)} for ref, s in readings])
        return
    print_table(
        None,
        ["CONTAINER", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"],
        [stats_row(ref, s) for ref, s in readings],
    )


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@connected()
def exec(  # noqa: A001 - the command is called exec, as docker's
    conn: Connection,
    ref: RefArg,
    command: Annotated[list[str], typer.Argument(help="Command and its arguments, after --.")],
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Send stdin to the command (its end too).")
    ] = False,
    tty: Annotated[
        bool, typer.Option("--tty", "-t", help="Give the command a terminal (with -i: a shell).")
    ] = False,
) -> None:
    """Run a command in a container; exit with the command's exit code.

    Without -i/-t the command runs to its end and its output is printed (-o json: with the
    code). With -i and/or -t it is attached as docker exec's: fleetdeck exec -it REF -- sh.
    """
    if not command:
        raise InvalidInputError("no command given", hint="fleetdeck exec REF -- CMD [ARG...]")
    if interactive or tty:
        if conn.json:
            raise InvalidInputError("-o json is for exec without -i/-t (their output streams)")
        config = conn.config()
        raise typer.Exit(run_attached(config, ref, command, tty=tty, interactive=interactive))
    with conn.client() as client:
        result = client.exec(ref, command)
    if conn.json:
        print_json(dump(result))
    else:
        sys.stdout.write(result.output)
        sys.stdout.flush()
    raise typer.Exit(result.exit_code)
