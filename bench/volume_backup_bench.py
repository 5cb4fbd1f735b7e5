"""Volume backup throughput against ``tar`` of the same volume, and the incremental backup.

On one Docker engine (the machine's, ``--docker-host``), a volume is filled with ``--mib``
MiB: half in a few large incompressible files, half in many 64 KiB files. Per round:

1. fleetdeck's copy, exactly as the agent runs it (``fleetdeck.agent.volume_backup.run_job``:
   a helper container mounting the volume read-only, restic to a directory target): the
   first backup of the volume into a fresh repository (throughput, repository size);
2. 1 % of the files rewritten, then the second (incremental) backup: time and bytes added;
3. anchor: ``tar cf`` of the same volume in the same helper image onto the same disk (no
   encryption, no deduplication, no check), timed the same way (container start included).

Run: ``.venv/bin/python bench/volume_backup_bench.py [--rounds 3] [--mib 512]`` as root.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, summary  # noqa: E402

from fleetdeck.agent.docker_api import DockerAPI  # noqa: E402
from fleetdeck.agent.volume_backup import run_job  # noqa: E402
from fleetdeck.lab import volume_backup_image  # noqa: E402
from fleetdeck.sizes import format_bytes  # noqa: E402
from fleetdeck.wire.volume_backups import ResticJobBody  # noqa: E402

PASSPHRASE = "bench passphrase"  # noqa: S105 - a benchmark's throwaway passphrase
IMAGE = volume_backup_image.IMAGE


def docker(host: str, *args: str) -> str:
    """``docker ARGS`` against ``host``; its stdout."""
    done = subprocess.run(  # noqa: S603 - fixed argv
        ["docker", "--host", host, *args],
        capture_output=True,
        text=True,
        check=True,  # noqa: S607
    )
    return done.stdout.strip()


def fill(host: str, volume: str, mib: int) -> int:
    """Fill ``volume`` with ``mib`` MiB; the number of files written."""
    big = max(1, mib // 2 // 64)
    small = max(1, mib * 1024 // 2 // 64)
    script = (
        f"i=0; while [ $i -lt {big} ]; do head -c 67108864 /dev/urandom > /data/big$i; "
        "i=$((i+1)); done; mkdir -p /data/small; "
        f"i=0; while [ $i -lt {small} ]; do head -c 65536 /dev/urandom > /data/small/f$i; "
        "i=$((i+1)); done"
    )
    docker(host, "run", "--rm", "-v", f"{volume}:/data", IMAGE, "sh", "-c", script)
    return big + small


def touch_one_percent(host: str, volume: str, files: int) -> None:
    """Rewrite 1 % of the small files (new random content)."""
    count = max(1, files // 100)
    script = (
        f"i=0; while [ $i -lt {count} ]; do head -c 65536 /dev/urandom > /data/small/f$i; "
        "i=$((i+1)); done"
    )
    docker(host, "run", "--rm", "-v", f"{volume}:/data", IMAGE, "sh", "-c", script)


def du(path: Path) -> int:
    """Bytes under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


async def fleetdeck_round(host: str, volume: str, repo: Path, files: int) -> dict[str, float]:
    """First and incremental backup through the agent's own job code."""
    engine = DockerAPI(host)
    body = ResticJobBody(
        op="backup", image=IMAGE, repository="/repo", directory=str(repo),
        secrets={"RESTIC_PASSWORD": PASSPHRASE}, tags=["fleetdeck-volume,volume=bench"],
    )  # fmt: skip
    try:
        started = time.perf_counter()
        first = await run_job(engine, volume, body)
        first_s = time.perf_counter() - started
        if first.exit_code != 0:
            raise SystemExit(f"backup failed: {first.stderr}")
        repo_bytes = du(repo)
        touch_one_percent(host, volume, files)
        started = time.perf_counter()
        second = await run_job(engine, volume, body)
        second_s = time.perf_counter() - started
    finally:
        await engine.close()
    summary_1, summary_2 = first.summary or {}, second.summary or {}
    return {
        "first": first_s,
        "processed": float(summary_1.get("total_bytes_processed", 0)),
        "repo_bytes": float(repo_bytes),
        "second": second_s,
        "added": float(summary_2.get("data_added", 0)),
        "repo_growth": float(du(repo) - repo_bytes),
    }


def anchor_round(host: str, volume: str, out: Path) -> dict[str, float]:
    """``tar cf`` of the same volume, in the same image, onto the same disk."""
    started = time.perf_counter()
    mounts = ["-v", f"{volume}:/data:ro", "-v", f"{out}:/out"]
    tar = ["tar", "cf", "/out/volume.tar", "-C", "/data", "."]
    docker(host, "run", "--rm", "--network", "none", *mounts, IMAGE, *tar)
    return {"tar": time.perf_counter() - started, "tar_bytes": float(du(out))}


def mibs(nbytes: float, seconds: float) -> str:
    """Throughput in MiB/s."""
    return f"{nbytes / 1048576 / seconds:.1f} MiB/s"


async def measure(host: str, rounds: int, mib: int) -> list[str]:
    """Fill a volume, time fleetdeck's backups and the anchor round by round; the figures.

    Also what ``bench/backup_bench.py --volumes`` calls, to print everything in one run.
    """
    volume_backup_image.build(host)
    volume = f"fleetdeck-bench-{int(time.time())}"
    docker(host, "volume", "create", volume)
    root = Path(tempfile.mkdtemp(prefix="fleetdeck-volbench-"))
    try:
        files = fill(host, volume, mib)
        ours, anchor = [], []
        for i in range(rounds):
            repo, out = root / f"repo-{i}", root / f"tar-{i}"
            repo.mkdir()
            out.mkdir()
            ours.append(await fleetdeck_round(host, volume, repo, files))
            anchor.append(anchor_round(host, volume, out))
            shutil.rmtree(repo)
            shutil.rmtree(out)
    finally:
        docker(host, "volume", "rm", "-f", volume)
        shutil.rmtree(root, ignore_errors=True)
    med = statistics.median
    size = med([r["processed"] for r in ours])
    first, second = [r["first"] for r in ours], [r["second"] for r in ours]
    tar = [r["tar"] for r in anchor]
    repo_size = format_bytes(int(med([r["repo_bytes"] for r in ours])))
    added = format_bytes(int(med([r["added"] for r in ours])))
    growth = format_bytes(int(med([r["repo_growth"] for r in ours])))
    archive = format_bytes(int(med([r["tar_bytes"] for r in anchor])))
    return [
        f"volume {volume}: {mib} MiB in {files} files",
        f"fleetdeck first backup (helper + restic, encrypted): {summary(first)}, "
        f"{mibs(size, med(first))}, repository {repo_size}",
        f"fleetdeck incremental backup after 1 % of files changed: {summary(second)}, "
        f"added {added} (repository grew {growth})",
        f"anchor tar cf of the same volume: {summary(tar)}, {mibs(size, med(tar))}, "
        f"archive {archive}",
    ]


async def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mib", type=int, default=512, help="MiB of data in the volume")
    parser.add_argument("--docker-host", default="unix:///var/run/docker.sock")
    args = parser.parse_args()
    print(f"# volume backup bench — {machine()}")  # noqa: T201
    for line in await measure(args.docker_host, args.rounds, args.mib):
        print(line)  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main())
