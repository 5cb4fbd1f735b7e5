"""Benchmark: log ingest rate into the log store and search latency at 1 million stored lines.

Every figure is printed next to its anchor, measured in the same run on the same lines:

* ingest rate (lines/s) into ``logs.db`` through :meth:`LogStore.write` (lines table, two
  indexes, FTS5 index, cursors; batches as the collector writes them) against plain SQLite
  inserts of the same lines into a table without indexes or FTS (same batches, same pragmas);
* search latency (p50/p95) of typical searches through the search function the API runs
  (newest 100 hits, matches highlighted) against ``grep -c`` of the same words over the same
  lines in a flat file (the page cache is warm for both).

The lines are synthetic but log-shaped: access lines with paths, statuses, user ids and
request ids, some error lines, from 30 containers on 3 nodes.

Run: ``.venv/bin/python bench/logs_bench.py [--lines 1000000] [--samples 20]``.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, percentile  # noqa: E402
from fleetdeck.server.logs.query import LogQuery, search  # noqa: E402
from fleetdeck.server.logs.store import Batch, LogStore  # noqa: E402

BATCH = 5000
PATHS = ["/api/orders", "/api/users", "/login", "/static/app.js", "/health", "/api/cart"]
WORDS = ["timeout", "refused", "retrying", "degraded", "slow", "cache", "miss", "upstream"]

#: (what, search text, extra filters, grep pattern)
SEARCHES = [
    ("rare word (~10 hits)", "kraken", {}, "kraken"),
    ("common word (~1/7 of lines)", "timeout", {}, "timeout"),
    ("two words", "upstream refused", {}, "upstream refused"),
    ("word in one container", "timeout", {"containers": ["app-7"]}, "app-7.*timeout"),
    ("prefix", "degrad*", {}, "degrad"),
]


def make_lines(count: int, seed: int = 7) -> list[tuple[tuple[str, str, str], int, str, str]]:
    """``count`` log-shaped lines from 30 containers, one ms apart, oldest first."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    keys = [(f"env{n}", f"node{n}", f"{n}{c:02d}{'f' * 60}") for n in (1, 2, 3) for c in range(10)]
    start = time.time_ns() - count * 1_000_000
    out = []
    for i in range(count):
        key = keys[i % len(keys)]
        name = f"app-{i % len(keys)}"
        if i % 7 == 0:
            words = " ".join(rng.sample(WORDS, 3))
            request = f"{rng.getrandbits(48):012x}"
            text = f"{name} ERROR request {request}: {words} after {rng.randint(1, 30000)}ms"
            stream = "stderr"
        else:
            text = (
                f'{name} 10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)} "GET {rng.choice(PATHS)}'
                f'?id={rng.randint(1, 99999)}" {rng.choice((200, 200, 200, 304, 404, 500))} '
                f"{rng.randint(100, 90000)} user={rng.randint(1, 5000)}"
            )
            stream = "stdout"
        if i % (count // 10 or 1) == 3:
            text += " kraken"
        out.append((key, start + i * 1_000_000, stream, text))
    return out


def ingest(store: LogStore, lines: list[tuple[tuple[str, str, str], int, str, str]]) -> list[float]:
    """Write the lines in batches as the collector does; per-batch rates (lines/s)."""
    metas = {
        key: {"name": f"app-{i}", "stack": "bench"}
        for i, key in enumerate(sorted({k for k, *_ in lines}))
    }
    store.write(Batch(metas, [], {}, {}))
    rates = []
    for at in range(0, len(lines), BATCH):
        chunk = lines[at : at + BATCH]
        cursors = {chunk[-1][0]: (chunk[-1][1], 1)}
        started = time.perf_counter()
        store.write(Batch({}, chunk, cursors, {}))
        rates.append(len(chunk) / (time.perf_counter() - started))
    return rates


def ingest_plain(
    path: Path, lines: list[tuple[tuple[str, str, str], int, str, str]]
) -> list[float]:
    """The anchor: the same lines into one plain table (no indexes, no FTS)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE lines (id INTEGER PRIMARY KEY, source TEXT, time_ns INTEGER, "
        "stream INTEGER, line TEXT)"
    )
    rates = []
    for at in range(0, len(lines), BATCH):
        chunk = lines[at : at + BATCH]
        rows = [(k[2], ns, 1 if s == "stdout" else 2, t) for k, ns, s, t in chunk]
        started = time.perf_counter()
        with conn:
            conn.executemany(
                "INSERT INTO lines (source, time_ns, stream, line) VALUES (?, ?, ?, ?)", rows
            )
        rates.append(len(chunk) / (time.perf_counter() - started))
    conn.close()
    return rates


def timed(fn: object, samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - started)
    return out


def ms(samples: list[float]) -> str:
    p50, p95 = percentile(samples, 50) * 1000, percentile(samples, 95) * 1000
    return f"p50 {p50:7.1f} ms  p95 {p95:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    print(machine())
    lines = make_lines(args.lines)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = LogStore(root / "logs.db")
        started = time.perf_counter()
        rates = ingest(store, lines)
        total = time.perf_counter() - started
        plain_started = time.perf_counter()
        plain = ingest_plain(root / "plain.db", lines)
        plain_total = time.perf_counter() - plain_started
        flat = root / "lines.log"
        flat.write_text("".join(f"{k[2][:12]} {s} {t}\n" for k, _, s, t in lines))
        print(
            f"\ningest of {len(lines):,} lines in batches of {BATCH} "
            f"(median of {len(rates)} batches):"
        )
        print(
            f"  logs.db (lines + indexes + FTS5):  {statistics.median(rates):>10,.0f} lines/s  "
            f"(whole fill {len(lines) / total:,.0f} lines/s)"
        )
        print(
            f"  anchor: plain SQLite table:        {statistics.median(plain):>10,.0f} lines/s  "
            f"(whole fill {len(lines) / plain_total:,.0f} lines/s)"
        )
        stats = store.stats()
        print(
            f"  logs.db size {stats['bytes'] / 2**20:.0f} MiB, "
            f"flat file {flat.stat().st_size / 2**20:.0f} MiB, "
            f"plain table file {(root / 'plain.db').stat().st_size / 2**20:.0f} MiB"
        )
        print(
            f"\nsearch at {stats['lines']:,} stored lines, {args.samples} samples each "
            "(fleetdeck: newest 100 hits; anchor: grep -c over the flat file):"
        )
        for what, text, filters, pattern in SEARCHES:
            query = LogQuery(text=text, limit=100, **filters).validate()  # type: ignore[arg-type]
            hits = search(store, query)[0]
            ours = timed(lambda q=query: search(store, q), args.samples)
            grep_cmd = [
                "grep",
                "-c",
                "-E",
                pattern.replace(" ", ".*") if " " in pattern else pattern,
                str(flat),
            ]
            count = subprocess.run(
                grep_cmd, capture_output=True, text=True, check=False
            ).stdout.strip()
            theirs = timed(
                lambda c=grep_cmd: subprocess.run(c, capture_output=True, check=False), args.samples
            )
            print(
                f"  {what:28s} fleetdeck {ms(ours)} ({len(hits)} shown)   "
                f"grep -c {ms(theirs)} ({count} lines)"
            )


if __name__ == "__main__":
    main()
