"""``fleetdeck agents …``: which agent each node runs, and which are older than the server.

The answer is the environments' own (``GET /environments``: each node's ``agent_version``,
``agent_protocol``, ``agent_commit``, ``agent_outdated``), one row per node, so an operator
sees in one table which hosts to upgrade (docs/install.md, "Upgrades and version skew").
"""

from __future__ import annotations

from typing import Annotated

import typer

from fleetdeck.cli.common import Connection, connected
from fleetdeck.cli.output import print_json, print_table

app = typer.Typer(help="Agents: the version each node runs, and which are outdated.")

EnvsArg = Annotated[
    list[str] | None, typer.Argument(help="Only these environments (default: all).")
]
OutdatedOpt = Annotated[bool, typer.Option("--outdated", help="Only agents older than the server.")]


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
