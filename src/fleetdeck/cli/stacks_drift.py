"""``fleetdeck stack drift NAME``: live versus the deployed revision; the drift policy.

``stack diff NAME`` shows the same drift under its plan (see :mod:`.stacks_deploy`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fleetdeck.cli.common import Connection, connected
from fleetdeck.cli.output import print_json, print_table
from fleetdeck.errors import InvalidInputError

app = typer.Typer()


def drift_rows(report: dict[str, Any]) -> list[list[str]]:
    """``[service, what, difference]`` for every difference of a drift report."""
    return [
        [s["service"], d["what"], d["message"]]
        for s in report["services"]
        for d in s["differences"]
    ]


def print_drift(report: dict[str, Any]) -> None:
    """The drift table and a line saying the state, policy and revision."""
    revision = report.get("revision")
    typer.echo(
        f"drift: {report['state']} (policy {report['policy']} from {report['policy_source']}"
        + (f", live vs revision {revision}" if revision is not None else "")
        + ")"
    )
    rows = drift_rows(report)
    if rows:
        print_table(None, ["SERVICE", "DRIFT", "DIFFERENCE"], rows)
    elif report["state"] not in ("in_sync", "drifted"):
        typer.echo(report["message"])


@app.command("drift")
@connected()
def drift(
    conn: Connection,
    name: Annotated[str, typer.Argument(help="Stack name.")],
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            help="notify (alert once), revert (redeploy the revision), or default (unset).",
        ),
    ] = None,
    suspend: Annotated[
        bool, typer.Option("--suspend", help="Suspend drift handling (no alert, no revert).")
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Resume drift handling.")] = False,
) -> None:
    """Show what differs from the deployed revision per service; set the drift policy."""
    if policy is not None and policy not in ("notify", "revert", "default"):
        raise InvalidInputError(
            f"unknown drift policy {policy!r}", hint="use notify, revert or default"
        )
    if suspend and resume:
        raise InvalidInputError("give --suspend or --resume, not both")
    suspended = True if suspend else (False if resume else None)
    with conn.client() as client:
        if policy is not None or suspended is not None:
            report = client.set_stack_drift(name, policy, suspended)
        else:
            report = client.stack_drift(name)
    if conn.json:
        print_json(report)
        return
    print_drift(report)
