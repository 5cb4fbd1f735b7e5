"""Server backup and restore: time and size, with and without 30 days of metrics history.

Two data dirs are built with the server's own code (migrations, CA and certificate, master
key): one without metrics, one with the metrics a 10-node fleet leaves after 30 days at the
default retention (raw 10 s samples for 24 h, 1-minute rollups for 14 days, 1-hour rollups
for 30 days; ``--series-per-node`` series a node, rows written into the store models' tables).

For each, per round:

1. ``fleetdeck backup create`` as the server does it (``BackupService.create`` to a directory
   target: staging through SQLite's backup API, restic backup, ``restic check``, manifest
   read-back), then a second, incremental backup of the same data (time and bytes added);
2. ``fleetdeck server restore`` into a new data dir (restic restore --verify, manifest hashes,
   integrity check, rename) — with history, and ``--without-history``;
3. anchor: ``sqlite3 fleetdeck.db ".backup copy.db"`` plus ``tar czf`` of the data dir (no
   encryption, no verification, no deduplication), and ``tar xzf`` for the restore.

With ``--volumes``, the same run then measures volume backups too
(``bench/volume_backup_bench.py``'s ``measure``: a ``--volume-mib`` MiB volume on
``--docker-host``, fleetdeck's first and incremental backup against ``tar cf``), so every
figure of the backup issue is printed in one run.

Run: ``.venv/bin/python bench/backup_bench.py [--rounds 3] [--series-per-node 20]
[--volumes [--volume-mib 512] [--docker-host unix:///var/run/docker.sock]]`` (as root).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import volume_backup_bench  # noqa: E402
from bench.common import machine, summary  # noqa: E402

from fleetdeck.clock import SYSTEM  # noqa: E402
from fleetdeck.server.backups.repository import BackupRepository  # noqa: E402
from fleetdeck.server.backups.restore import BackupRef, restore  # noqa: E402
from fleetdeck.server.backups.service import BackupService  # noqa: E402
from fleetdeck.server.config import ServerSettings  # noqa: E402
from fleetdeck.server.secrets import SecretBox, load_master_key  # noqa: E402
from fleetdeck.server.store import Store  # noqa: E402
from fleetdeck.server.store.migrate import migrate  # noqa: E402
from fleetdeck.server.store.models import MetricRollup, MetricSample, MetricSeries  # noqa: E402
from fleetdeck.server.tls import prepare_tls  # noqa: E402
from fleetdeck.sizes import format_bytes  # noqa: E402

NODES = 10
DAYS = 30
RAW_S, RAW_KEEP_S = 10, 86400
MINUTE_KEEP_DAYS = 14
PASSPHRASE = "bench passphrase"  # noqa: S105 - a benchmark's throwaway passphrase


def fill_metrics(db: Path, series_per_node: int, now: int) -> int:
    """Write the metrics history of ``NODES`` nodes into the store; the rows written."""
    conn = sqlite3.connect(db)
    rows = 0
    try:
        series_table = MetricSeries.__tablename__
        conn.executemany(
            f"INSERT INTO {series_table} (id, environment, node, kind, target_id, target_name,"  # noqa: S608
            " metric, instance) VALUES (?, ?, ?, 'host', '', ?, ?, '')",
            [
                (n * series_per_node + s + 1, f"env{n}", f"node{n}", f"node{n}", f"metric{s}")
                for n in range(NODES)
                for s in range(series_per_node)
            ],
        )
        ids = range(1, NODES * series_per_node + 1)
        raw = MetricSample.__tablename__
        for sid in ids:
            batch = [(sid, ts, float(ts % 97)) for ts in range(now - RAW_KEEP_S, now, RAW_S)]
            conn.executemany(f"INSERT INTO {raw} (series_id, ts, value) VALUES (?, ?, ?)", batch)  # noqa: S608
            rows += len(batch)
        rollups = MetricRollup.__tablename__
        for step, keep_s in ((60, MINUTE_KEEP_DAYS * 86400), (3600, DAYS * 86400)):
            start = (now - keep_s) // step * step
            for sid in ids:
                batch = [
                    (sid, step, ts, step // RAW_S, 1.0, 96.0, float(ts % 97))
                    for ts in range(start, now, step)
                ]
                conn.executemany(
                    f"INSERT INTO {rollups} (series_id, step, ts, count, min, max, avg)"  # noqa: S608
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    batch,
                )
                rows += len(batch)
        conn.commit()
    finally:
        conn.close()
    return rows


async def make_data_dir(root: Path, series_per_node: int) -> tuple[ServerSettings, int]:
    """A server data dir as a first start leaves it, with metrics if ``series_per_node``."""
    settings = ServerSettings.load(data_dir=root, listen="127.0.0.1:18443")
    root.mkdir(parents=True)
    store = Store(settings.db_url)
    await migrate(store)
    await store.close()
    prepare_tls(settings)
    load_master_key(settings)
    rows = fill_metrics(root / "fleetdeck.db", series_per_node, int(time.time()))
    return settings, rows


def du(path: Path) -> int:
    """Bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def mib(value: float) -> str:
    """Bytes as people read them."""
    return format_bytes(int(value))


async def fleetdeck_round(settings: ServerSettings, work: Path) -> dict[str, float]:
    """One backup, one incremental backup, two restores; their times and sizes."""
    store = Store(settings.db_url)
    service = BackupService(
        settings, BackupRepository(store), SecretBox(load_master_key(settings)), SYSTEM
    )
    repo = work / "repo"
    repo.mkdir(parents=True)
    try:
        started = time.perf_counter()
        first = await service.create(str(repo), PASSPHRASE)
        backup_s = time.perf_counter() - started
        repo_bytes = du(repo)
        started = time.perf_counter()
        second = await service.create(str(repo), PASSPHRASE)
        incremental_s = time.perf_counter() - started
    finally:
        await store.close()
    times = {}
    for label, history in (("restore", True), ("restore_nohist", False)):
        target = work / label
        started = time.perf_counter()
        await asyncio.to_thread(
            restore, BackupRef(str(repo), str(second.snapshot_id)), target, PASSPHRASE,
            None, history,
        )  # fmt: skip
        times[label] = time.perf_counter() - started
        times[f"{label}_bytes"] = du(target)
    return {
        "backup": backup_s,
        "backup_bytes": float(repo_bytes),
        "staged_bytes": float(first.size_bytes or 0),
        "incremental": incremental_s,
        "incremental_bytes": float(second.added_bytes or 0),
        **times,
    }


def anchor_round(settings: ServerSettings, work: Path) -> dict[str, float]:
    """``sqlite3 .backup`` + ``tar czf`` of the same data dir, and ``tar xzf`` back."""
    copy_dir = work / "copy"
    started = time.perf_counter()
    shutil.copytree(settings.data_dir, copy_dir, ignore=shutil.ignore_patterns("*.db*"))
    subprocess.run(  # noqa: S603 - fixed argv
        [
            "sqlite3",
            str(settings.data_dir / "fleetdeck.db"),
            f".backup {copy_dir / 'fleetdeck.db'}",
        ],
        check=True,
    )
    archive = work / "server.tar.gz"
    subprocess.run(["tar", "czf", str(archive), "-C", str(copy_dir), "."], check=True)  # noqa: S603, S607
    backup_s = time.perf_counter() - started
    out = work / "untar"
    out.mkdir()
    started = time.perf_counter()
    subprocess.run(["tar", "xzf", str(archive), "-C", str(out)], check=True)  # noqa: S603, S607
    return {
        "backup": backup_s,
        "backup_bytes": float(archive.stat().st_size),
        "restore": time.perf_counter() - started,
    }


def med(rounds: list[dict[str, float]], key: str) -> float:
    """The median of one figure over the rounds."""
    return statistics.median(r[key] for r in rounds)


async def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--series-per-node", type=int, default=20)
    parser.add_argument("--volumes", action="store_true", help="volume backups too, same run")
    parser.add_argument("--volume-mib", type=int, default=512, help="MiB in the bench volume")
    parser.add_argument("--docker-host", default="unix:///var/run/docker.sock")
    args = parser.parse_args()
    if shutil.which("sqlite3") is None:
        sys.exit("the anchor needs the sqlite3 command-line tool")
    print(machine())  # noqa: T201
    with tempfile.TemporaryDirectory(prefix="fd-backup-bench-") as tmp:
        root = Path(tmp)
        for label, per_node in (
            ("without metrics history", 0),
            ("with 30 days of metrics", args.series_per_node),
        ):
            settings, rows = await make_data_dir(root / f"data-{per_node}", per_node)
            db_bytes = (settings.data_dir / "fleetdeck.db").stat().st_size
            print(f"\n== store {label}: {NODES} nodes × {per_node} series, {rows:,} metric rows,"  # noqa: T201
                  f" fleetdeck.db {mib(db_bytes)}")  # fmt: skip
            ours, anchor = [], []
            for i in range(args.rounds):
                work = root / f"round-{per_node}-{i}"
                work.mkdir()
                ours.append(await fleetdeck_round(settings, work / "fd"))
                (work / "anchor").mkdir()
                anchor.append(anchor_round(settings, work / "anchor"))
                shutil.rmtree(work)
            lines = [
                ("backup (stage + restic + check + read-back)", "backup", ours),
                ("incremental backup of the same data", "incremental", ours),
                ("restore (restic --verify + hashes + integrity)", "restore", ours),
                ("restore --without-history", "restore_nohist", ours),
            ]
            for text, key, data in lines:
                print(f"fleetdeck {text}: {summary([r[key] for r in data])}")  # noqa: T201
            print(f"  sizes: staged {mib(med(ours, 'staged_bytes'))}, repository after the first"  # noqa: T201
                  f" backup {mib(med(ours, 'backup_bytes'))}, added by the second"
                  f" {mib(med(ours, 'incremental_bytes'))}; restored data dir"
                  f" {mib(med(ours, 'restore_bytes'))} (without history"
                  f" {mib(med(ours, 'restore_nohist_bytes'))})")  # fmt: skip
            print(f"anchor sqlite3 .backup + tar czf: {summary([r['backup'] for r in anchor])},"  # noqa: T201
                  f" archive {mib(med(anchor, 'backup_bytes'))}")  # fmt: skip
            print(f"anchor tar xzf: {summary([r['restore'] for r in anchor])}")  # noqa: T201
    if args.volumes:
        print("\n== volume backups (the agent's job code, a directory target)")  # noqa: T201
        lines = await volume_backup_bench.measure(args.docker_host, args.rounds, args.volume_mib)
        for line in lines:
            print(line)  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main())
