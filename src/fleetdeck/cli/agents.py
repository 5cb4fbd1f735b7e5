"""``fleetdeck agents …``: which agent each node runs, which are outdated, and upgrading them.

``ls`` answers from the environments (``GET /environments``: each node's ``agent_version``,
``agent_protocol``, ``agent_commit``, ``agent_outdated``), one row per node, so an operator
sees in one table which hosts to upgrade (docs/install.md, "Upgrades and version skew").
``upgrade`` rolls the server's agent build out (``POST /agents/upgrade``), printing each
node's progress as it streams (docs/install.md, "Upgrade").
"""

from __future__ import annotations

from typing import Annotated

import typer

from fleetdeck.cli.common import Connection, connected
from fleetdeck.cli.output import print_json, print_table

app = typer.Typer(help="Agents: the version each node runs, which are outdated; upgrade them.")

EnvsArg = Annotated[
    list[str] | None, typer.Argument(help="Only these environments (default: all).")
]
OutdatedOpt = Annotated[bool, typer.Option("--outdated", help="Only agents older than the server.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Only list what would move.")]
TimeoutOpt = Annotated[
    int,
    typer.Option(
        "--timeout",
        min=10,
        max=1800,
        help="Seconds a new agent gets to come back before its host puts the old one back.",
    ),
]


@app.command("ls")
@connected()
def ls(conn: Connection, environments: EnvsArg = None, outdated: OutdatedOpt = False) -> None:
    """List every node's agent: version, protocol, commit, and whether it is outdated."""
    from fleetdeck.errors import NotFoundError

    with conn.client() as client:
        envs = client.list_environments()
    wanted = set(environments or [])
    unknown = sorted(wanted - {e.name for e in envs})
    if unknown:
        raise NotFoundError(
            f"no environment {', '.join(map(repr, unknown))}",
            hint="list them with: fleetdeck env ls",
        )
    nodes = [
        (e.name, n)
        for e in envs
        if not wanted or e.name in wanted
        for n in e.nodes
        if not outdated or n.agent_outdated
    ]
    if conn.json:
        keys = ("status", "agent_version", "agent_protocol", "agent_commit", "agent_outdated")
        print_json([
            {"environment": env, "node": n.name, "hostname": n.hostname}
            | n.model_dump(mode="json", include=set(keys))
            for env, n in nodes
        ])  # fmt: skip
        return
    print_table(
        None,
        ["ENVIRONMENT", "NODE", "STATUS", "VERSION", "PROTOCOL", "COMMIT", "OUTDATED"],
        [
            [
                env,
                n.name,
                n.status,
                n.agent_version or "",
                "" if n.agent_protocol is None else n.agent_protocol,
                n.agent_commit or "",
                {True: "yes", False: "no", None: ""}[n.agent_outdated],
            ]
            for env, n in nodes
        ],
    )


@app.command("upgrade")
@connected()
def upgrade(
    conn: Connection,
    environments: EnvsArg = None,
    dry_run: DryRunOpt = False,
    timeout: TimeoutOpt = 120,
) -> None:
    """Move agents to the server's build, one host at a time; undo a host that does not return.

    Systemd (script) installs fetch the new wheelhouse and restart into it; container agents
    get the new image and are recreated. Exits 1 if a node was undone or failed.
    """
    from fleetdeck.cli.output import console
    from fleetdeck.wire.upgrade import UpgradeState

    events = []
    bad = 0
    with conn.client() as client:
        for event in client.upgrade_agents(environments, dry_run=dry_run, timeout_seconds=timeout):
            events.append(event)
            if event.event == "done":
                bad = (event.undone or 0) + (event.failed or 0)
            if conn.json:
                continue
            if event.event == "plan":
                nodes = event.nodes or []
                print_table(
                    f"agents → {event.target}" + (" (dry run)" if dry_run else ""),
                    ["ENVIRONMENT", "NODE", "VERSION", "PLAN", "WHY"],
                    [[n.environment, n.node, n.from_version or "", n.state.value,
                      n.message or ""] for n in nodes],
                )  # fmt: skip
                moving = sum(1 for n in nodes if n.state == UpgradeState.move)
                if dry_run:
                    console.print(f"{moving} agent(s) would move to {event.target}")
            elif event.event == "step" and event.step is not None:
                s = event.step
                how = f" ({s.mode})" if s.mode else ""
                why = f": {s.message}" if s.message else ""
                console.print(f"{s.environment}/{s.node}: {s.state.value}{how}{why}")
            elif event.event == "done" and not dry_run:
                console.print(f"moved {event.moved}, undone {event.undone}, failed {event.failed}")
    if conn.json:
        print_json([e.model_dump(mode="json", exclude_none=True) for e in events])
    if bad:
        raise typer.Exit(1)
