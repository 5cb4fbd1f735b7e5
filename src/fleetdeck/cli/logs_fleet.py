"""``fleetdeck logs`` without a container: search stored lines, or follow a merged live tail.

``fleetdeck logs CONTAINER`` (in :mod:`fleetdeck.cli.container_io`) reads one container
straight from its engine; the fleet-wide forms read the server's log store:

* ``fleetdeck logs --search TEXT [filters] [-o json]``: the newest ``--limit`` hits, printed
  oldest first; ``-o json`` prints a list of objects with exactly the keys ``environment``,
  ``node``, ``container``, ``stream``, ``time``, ``line``.
* ``fleetdeck logs -f --stack NAME`` (or ``--service``, ``--container`` repeated, ...): the
  last ``--tail`` stored lines, then every new line of those containers, merged as they come.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer

from fleetdeck.cli.output import OutputFormat, err_console, print_json
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from fleetdeck.client import FleetdeckClient
    from fleetdeck.wire.logs import LogHit


@dataclass
class FleetLogRequest:
    """The fleet-wide flags of ``fleetdeck logs`` (every one optional)."""

    search: str | None = None
    raw: bool = False
    environment: str | None = None
    node: str | None = None
    containers: list[str] = field(default_factory=list)
    stack: str | None = None
    service: str | None = None
    stream: str | None = None
    until: str | None = None
    limit: int | None = None
    offset: int | None = None

    def given(self) -> list[str]:
        """The flags set, by name (for error messages)."""
        names = {
            "--search": self.search is not None,
            "--raw": self.raw,
            "--env": self.environment is not None,
            "--node": self.node is not None,
            "--container": bool(self.containers),
            "--stack": self.stack is not None,
            "--service": self.service is not None,
            "--stream": self.stream is not None,
            "--until": self.until is not None,
            "--limit": self.limit is not None,
            "--offset": self.offset is not None,
        }
        return [name for name, on in names.items() if on]


def check_combination(
    ref: str | None, request: FleetLogRequest, *, follow: bool, tail: int | None
) -> None:
    """Reject flag combinations that mean nothing, before anything is asked of the server."""
    given = request.given()
    if ref is not None:
        if given:
            raise InvalidInputError(
                f"{', '.join(given)} search the fleet's stored logs: not with a CONTAINER",
                hint="fleetdeck logs CONTAINER [-f], or fleetdeck logs --search TEXT -c NAME",
            )
        return
    if not given:
        raise InvalidInputError(
            "say whose logs: a CONTAINER, --search TEXT, or filters like --stack NAME",
            hint="fleetdeck logs --search TEXT, fleetdeck logs -f --stack NAME",
        )
    if follow:
        wrong = [n for n in ("--until", "--limit", "--offset", "--raw") if n in given]
        if wrong:
            raise InvalidInputError(
                f"{', '.join(wrong)}: only for a search of stored lines, not with -f",
                hint="with -f, --tail N says how many stored lines to show first",
            )
    elif tail is not None:
        raise InvalidInputError(
            "--tail applies to one CONTAINER or to -f; a search takes --limit",
        )


def _print_hit(hit: LogHit, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        from fleetdeck.client.logs import hit_contract  # imported on use: pydantic

        typer.echo(json.dumps(hit_contract(hit)))
        return
    where = f"{hit.environment}/{hit.node}/{hit.container}"
    typer.echo(f"{hit.time.isoformat()} {where} {hit.stream}| {hit.line}")


def run_search(
    client: FleetdeckClient, request: FleetLogRequest, since: str | None, output: OutputFormat
) -> None:
    """Print the newest hits of a search, oldest first."""
    result = client.search_logs(
        request.search or "",
        raw=request.raw,
        environment=request.environment,
        node=request.node,
        containers=request.containers,
        stack=request.stack,
        service=request.service,
        stream=request.stream,
        since=since,
        until=request.until,
        limit=request.limit,
        offset=request.offset,
    )
    hits = list(reversed(result.items))
    if output is OutputFormat.json:
        from fleetdeck.client.logs import hit_contract  # imported on use: pydantic

        print_json([hit_contract(hit) for hit in hits])
        return
    for hit in hits:
        _print_hit(hit, output)
    if result.next_offset is not None:
        err_console.print(
            f"(more hits: --offset {result.next_offset}, or narrow the search)",
            highlight=False,
            markup=False,
        )


def run_tail(
    client: FleetdeckClient, request: FleetLogRequest, tail: int | None, output: OutputFormat
) -> None:
    """Print the merged live tail until interrupted (NDJSON with ``-o json``)."""
    items = client.tail_logs(
        text=request.search or "",
        environment=request.environment,
        node=request.node,
        containers=request.containers,
        stack=request.stack,
        service=request.service,
        stream=request.stream,
        backlog=tail,
    )
    try:
        for item in items:
            if isinstance(item, int):
                err_console.print(f"({item} lines dropped: this terminal was too slow)")
            else:
                _print_hit(item, output)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
