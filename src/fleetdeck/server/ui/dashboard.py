"""The data behind the dashboard and the containers table (built from the in-memory fleet).

"Needs attention" lists, worst first, the nodes that are unreachable or have their engine
down, the firing alerts (read by the page from the alerts part) and the containers that are
not plainly running and healthy. The node table shows each node's latest CPU and memory use
from the metrics part's :class:`~fleetdeck.server.metrics.latest.LatestSamples`, only while
they are fresh: a partitioned node shows "—", not the figure it last sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from fleetdeck.durations import format_duration
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.fleet.inventory import SORT_KEYS, ContainerQuery, NodeStatus
from fleetdeck.server.metrics.catalog import HOST
from fleetdeck.server.routes.events import fleet_summary

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from fleetdeck.server.fleet.service import Fleet
    from fleetdeck.server.metrics.latest import LatestSamples
    from fleetdeck.server.store.models_backups import BackupRun, BackupSchedule
    from fleetdeck.wire.containers import Container
    from fleetdeck.wire.fleet import Environment, Node

PAGE_SIZES = (25, 50, 100, 250)
ATTENTION_LIMIT = 15


@dataclass(frozen=True)
class NodeFigures:
    """A node's latest CPU and memory use, for the dashboard's node table (None: no figure)."""

    cpu_percent: float | None = None
    cpu_cores: float | None = None
    cpu_count: float | None = None
    memory_percent: float | None = None
    memory_used_bytes: float | None = None
    memory_total_bytes: float | None = None


#: Without a schedule, a newest good backup older than this is shown as a warning.
UNSCHEDULED_STALE_S = 7 * 86400


@dataclass(frozen=True)
class BackupFreshness:
    """The dashboard's backup tile: how old the newest good server backup is, and its colour."""

    age: str | None  # "3h" (None: there is none)
    level: str  # ok | warn | bad
    note: str  # the tile's title: why this colour


def backup_freshness(
    runs: list[BackupRun], schedule: BackupSchedule, now: datetime
) -> BackupFreshness:
    """Judge the newest good backup against the schedule (stale: older than two intervals).

    Two intervals, not one: a backup that is due and running is not yet late.
    """
    good = [r for r in runs if r.status == "ok" and r.finished_at is not None]
    newest = max((r.finished_at for r in good if r.finished_at), default=None)
    scheduled = schedule.enabled and schedule.target is not None
    if newest is None:
        note = "no good backup yet" + ("" if scheduled else " and no schedule")
        return BackupFreshness(None, "bad" if scheduled else "warn", note)
    age_s = max(0.0, (now - newest).total_seconds())
    age = "".join(re.findall(r"\d+[dhms]", format_duration(age_s))[:2])  # 1d3h, not 1d3h20m15s
    if scheduled:
        if age_s > 2 * schedule.interval_s:
            every = format_duration(schedule.interval_s)
            return BackupFreshness(age, "bad", f"older than two schedule intervals ({every})")
        return BackupFreshness(age, "ok", "within the schedule")
    if age_s > UNSCHEDULED_STALE_S:
        return BackupFreshness(age, "warn", "no schedule, and the newest is over a week old")
    return BackupFreshness(age, "ok", "no schedule")


def attention_rank(c: Container) -> int:
    """How urgently a container needs a look (0 = most): unhealthy and restarting first."""
    if c.health == "unhealthy" or c.state in ("restarting", "dead"):
        return 0
    if c.state in ("exited", "created", "paused"):
        return 1
    if c.health == "starting":
        return 2
    return 3


def needing_attention(fleet: Fleet) -> list[Container]:
    """Containers that are not plainly running and healthy, worst first."""
    items, _ = fleet.inventory.containers(ContainerQuery(limit=5000))
    flagged = [c for c in items if attention_rank(c) < 3]
    flagged.sort(key=lambda c: (attention_rank(c), c.environment, c.node, c.name))
    return flagged[:ATTENTION_LIMIT]


_TROUBLED = (NodeStatus.unreachable.value, NodeStatus.engine_down.value, NodeStatus.incompatible)


def troubled_nodes(environments: list[Environment]) -> list[tuple[str, Node]]:
    """(environment, node) of every node unreachable, with its engine down or its agent refused."""
    out = [
        (env.name, node) for env in environments for node in env.nodes if node.status in _TROUBLED
    ]
    out.sort(key=lambda t: (t[1].status != NodeStatus.unreachable.value, t[0], t[1].name))
    return out[:ATTENTION_LIMIT]


def node_figures(latest: LatestSamples | None, now: float) -> dict[str, NodeFigures]:
    """``ENV/NODE`` → its latest host figures, only for nodes whose figures are fresh."""
    if latest is None:
        return {}
    out = {}
    wanted = {f.name for f in fields(NodeFigures)}
    for environment, node, _ in latest.items():
        values = {
            metric: value
            for kind, _id, _name, metric, instance, value in latest.fresh_rows(
                environment, node, now
            )
            if kind == HOST and not instance and metric in wanted
        }
        if values:
            out[f"{environment}/{node}"] = NodeFigures(**values)
    return out


def dashboard_data(
    fleet: Fleet, latest: LatestSamples | None = None, now: float = 0.0
) -> dict[str, Any]:
    """Environments with their nodes' figures, counts, and what needs attention."""
    environments = fleet.views()
    return {
        "environments": environments,
        "summary": fleet_summary(fleet),
        "attention": needing_attention(fleet),
        "troubled_nodes": troubled_nodes(environments),
        "figures": node_figures(latest, now),
        "version": fleet.inventory.version,
    }


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name) or ""
    try:
        return int(raw) if raw else default
    except ValueError:
        raise InvalidInputError(f"{name} must be a number, not {raw!r}") from None


def container_query(params: Mapping[str, str]) -> ContainerQuery:
    """The :class:`ContainerQuery` of the containers page's query string."""
    sort = params.get("sort") or "name"
    limit = _int(params, "limit", 50)
    return ContainerQuery(
        environment=params.get("environment") or None,
        node=params.get("node") or None,
        state=params.get("state") or None,
        health=params.get("health") or None,
        stack=params.get("stack") or None,
        name=(params.get("q") or "").strip() or None,
        labels=tuple(x for x in [(params.get("label") or "").strip()] if x),
        sort=sort if sort in SORT_KEYS else "name",
        descending=params.get("order") == "desc",
        limit=limit if limit in PAGE_SIZES else 50,
        offset=max(0, _int(params, "offset", 0)),
    ).validate()


def ports_text(c: Container) -> str:
    """Published ports as Docker prints them (``8080->80/tcp``)."""
    out = []
    for p in c.ports:
        if p.public_port:
            out.append(f"{p.public_port}->{p.private_port}/{p.protocol}")
        else:
            out.append(f"{p.private_port}/{p.protocol}")
    return ", ".join(sorted(set(out)))
