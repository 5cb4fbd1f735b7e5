"""``fleetdeck plan|apply -f PATH``, ``export -o DIR``, ``schema``: the declarative fleet file.

``plan`` reads the files (bounded; a problem fails naming ``FILE:LINE``), reads the server,
and prints a Terraform-style diff; with ``--detailed-exitcode`` it exits 0 (no change),
1 (error) or 2 (changes). ``apply`` makes the same plan and carries it out kind by kind
(see :mod:`fleetdeck.fleetfile.live`). See docs/fleet-file.md.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fleetdeck.cli.common import Connection, connected
from fleetdeck.cli.output import print_json
from fleetdeck.errors import FleetdeckError

if TYPE_CHECKING:
    from fleetdeck.client.client import FleetdeckClient
    from fleetdeck.fleetfile.diff import Live, Plan

app = typer.Typer()

PathOpt = Annotated[
    Path, typer.Option("--file", "-f", help="A fleet file, or a directory of them (*.yaml).")
]


def _plan(client: FleetdeckClient, path: Path) -> tuple[Plan, Live, list[str]]:
    from fleetdeck.fleetfile import diff, live, loader

    desired = loader.load(path)
    state = live.read_live(client)
    plan = diff.make_plan(desired, state, now=datetime.now(UTC))
    live.Applier(client, state).precheck(plan)
    return plan, state, diff.stack_order(desired)


def _show(conn: Connection, plan: Plan) -> None:
    from fleetdeck.fleetfile.diff import render, to_json

    if conn.json:
        print_json(to_json(plan))
    else:
        typer.echo("\n".join(render(plan)))


@app.command("plan")
@connected()
def plan(
    conn: Connection,
    file: PathOpt,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 0 when nothing changes, 1 on error, 2 on changes."
        ),
    ] = False,
) -> None:
    """Show what `apply -f PATH` would create, update and delete (nothing is changed)."""
    try:
        with conn.client() as client:
            result, _, _ = _plan(client, file)
    except FleetdeckError as exc:
        if not detailed_exitcode:
            raise
        typer.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"  {exc.hint}", err=True)
        sys.exit(1)
    _show(conn, result)
    if detailed_exitcode and not result.empty:
        sys.exit(2)


@app.command("apply")
@connected()
def apply(conn: Connection, file: PathOpt) -> None:
    """Make the fleet match the files: the plan, then each kind applied in order."""
    from fleetdeck.fleetfile.live import apply_plan

    with conn.client() as client:
        result, state, order = _plan(client, file)
        _show(conn, result)
        if result.empty:
            return
        report = apply_plan(client, state, result, order)
    if conn.json:
        print_json({"done": report.done, "notes": report.notes})
        return
    for line in report.done:
        typer.echo(line)
    for note in report.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"Apply complete: {len(report.done)} change(s).")


@app.command("export")
@connected(output=None)
def export(
    conn: Connection,
    directory: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Directory to write KIND.yaml files into.")
    ],
) -> None:
    """Write the fleet as fleet files (secrets as environment-variable references)."""
    from fleetdeck.fleetfile.export import write_export
    from fleetdeck.fleetfile.live import read_live

    with conn.client() as client:
        state = read_live(client, with_content=True)
    for path in write_export(state, directory):
        typer.echo(f"wrote {path}")


@app.command("schema")
def schema() -> None:
    """Print the fleet file's JSON Schema (editors validate fleet files with it)."""
    from fleetdeck.fleetfile.model import json_schema

    typer.echo(json.dumps(json_schema(), indent=2, sort_keys=True))
