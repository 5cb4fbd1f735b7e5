"""Metrics history under faults and retention, on real labs.

* A partitioned node keeps sampling; after healing, the samples its agent buffered fill the
  gap in the server's history (checked through the query API and ``fleetdeck lab
  partition/heal``'s real network cut).
* A server started with short retention (raw 72 s, 1-minute rollups ~130 s, rollup pass every
  5 s) really removes old raw samples and old rollups while it keeps the newer ones and the
  1-minute rollups of the removed raw samples (checked in the server's SQLite file).
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fleetdeck.lab import Lab
from tests.conftest import client_for, lab_name
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.client.client import FleetdeckClient
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

RAW_RETENTION_S = 72.0  # FLEETDECK_METRICS_RAW_RETENTION_HOURS=0.02
MINUTE_RETENTION_S = 129.6  # FLEETDECK_METRICS_MINUTE_RETENTION_DAYS=0.0015
ROLLUP_INTERVAL_S = 5.0


def _times(client: FleetdeckClient, target: str, since: datetime) -> list[datetime]:
    result = client.query_metrics(target, "memory_used_bytes", start=since, step=10)
    return [p.time for s in result.series for p in s.points]


def _largest_gap(times: list[datetime], start: datetime, end: datetime) -> float:
    inside = sorted(t for t in times if start <= t <= end)
    edges = [start, *inside, end]
    return max((b - a).total_seconds() for a, b in zip(edges, edges[1:], strict=False))


def test_a_partitioned_node_s_buffered_samples_fill_the_gap(fleet3: LabRecord) -> None:
    lab = Lab(fleet3.name)
    node3 = fleet3.nodes[2]
    with client_for(fleet3) as client:
        env = client.get_environment(node3.name)
        host = f"{env.name}/{env.nodes[0].name}"
        begin = datetime.now(UTC)
        wait_for("a first sample", lambda: _times(client, host, begin), timeout=60)
        lab.partition(node3.name)
        cut = datetime.now(UTC)
        try:
            wait_for(
                "node3 unreachable",
                lambda: client.get_environment(node3.name).status == "unreachable",
                timeout=30,
            )
            # Keep the node cut off for at least four sampling intervals.
            wait_for(
                "40 s of partition", lambda: datetime.now(UTC) - cut > timedelta(seconds=40),
                timeout=120,
            )  # fmt: skip
            during = [t for t in _times(client, host, cut) if t > cut + timedelta(seconds=15)]
            assert during == []  # nothing reached the server while cut off: a real gap
        finally:
            lab.heal(node3.name)
        healed = datetime.now(UTC)
        wait_for("node3 up", lambda: client.get_environment(node3.name).status == "up", timeout=60)

        def filled() -> bool:
            return _largest_gap(_times(client, host, cut), cut, healed) <= 25

        wait_for("the gap filled by the agent's buffer", filled, timeout=90)
        times = _times(client, host, cut)
        assert len(times) == len(set(times))  # replayed once, no duplicates
        assert sum(1 for t in times if cut < t < healed) >= 3


@pytest.fixture
def short_retention_lab(monkeypatch: pytest.MonkeyPatch) -> Iterator[LabRecord]:
    """A 1-node lab whose server keeps raw samples 72 s and 1-minute rollups ~130 s."""
    monkeypatch.setenv("FLEETDECK_METRICS_RAW_RETENTION_HOURS", str(RAW_RETENTION_S / 3600))
    monkeypatch.setenv("FLEETDECK_METRICS_MINUTE_RETENTION_DAYS", str(MINUTE_RETENTION_S / 86400))
    monkeypatch.setenv("FLEETDECK_METRICS_ROLLUP_INTERVAL_SECONDS", str(ROLLUP_INTERVAL_S))
    lab = Lab(lab_name("retention"))
    record, _ = lab.up(nodes=1, server=True)
    try:
        yield record
    finally:
        lab.down()


def _oldest(db: Path) -> tuple[int | None, int | None, int]:
    """(oldest raw sample, oldest 1-minute rollup, 1-minute rollup rows) in the store."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        raw = conn.execute("SELECT MIN(ts) FROM metric_samples").fetchone()[0]
        minute, rows = conn.execute(
            "SELECT MIN(ts), COUNT(*) FROM metric_rollups WHERE step = 60"
        ).fetchone()
    finally:
        conn.close()
    return raw, minute, rows


def test_retention_really_removes_old_raw_samples_and_rollups(
    short_retention_lab: LabRecord,
) -> None:
    assert short_retention_lab.server is not None
    db = Path(short_retention_lab.server.data_dir) / "fleetdeck.db"
    wait_for("first samples", lambda: _oldest(db)[0] is not None, timeout=60)
    first_raw = _oldest(db)[0]
    assert first_raw is not None
    slack = ROLLUP_INTERVAL_S + 15  # a pass may be due, and a sample is written up to 10 s late

    def raw_pruned() -> bool:
        raw, minute, _ = _oldest(db)
        return raw is not None and raw > first_raw and minute is not None and minute < raw

    # Raw samples older than 72 s go; the 1-minute rollups of those samples stay.
    wait_for("raw samples pruned", raw_pruned, timeout=RAW_RETENTION_S + 120)
    raw, minute, _ = _oldest(db)
    assert raw is not None and raw >= time.time() - RAW_RETENTION_S - slack
    first_minute = minute
    # Rollups of removed raw samples remain. (Not "of the very first sample": its minute
    # bucket is stamped with the minute's start, up to 60 s before it, so with a 130 s
    # rollup retention it may already be gone by now, depending on the phase.)
    assert first_minute is not None and first_minute < raw

    def minutes_pruned() -> bool:
        _, oldest_minute, rows = _oldest(db)
        return oldest_minute is not None and oldest_minute > first_minute and rows > 0

    # The 1-minute rollups older than ~130 s go as well; newer ones stay.
    wait_for("1-minute rollups pruned", minutes_pruned, timeout=MINUTE_RETENTION_S + 180)
    _, minute, rows = _oldest(db)
    assert minute is not None and minute >= time.time() - MINUTE_RETENTION_S - 60 - slack
    assert rows > 0
