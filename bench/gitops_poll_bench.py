"""Benchmark: the cost of one GitOps polling round for 50 stacks in 10 repositories.

A 1-node lab with its fleetdeck server, and the lab Git server (nginx + fcgiwrap +
``git http-backend``, basic auth) on the gateway, here with an nginx access log (``$msec``
per request). 10 repositories hold 5 stacks each (``s0/`` … ``s4/``, one ``sleep``
service of the lab's base image); each of the 50 stacks is deployed from Git once (the
only way the code registers a source: ``PUT /stacks/NAME/source`` syncs it), then:

* **round, no change**: every repository is asked for one sync (a signed webhook per
  repository: the same ``sync_repo`` a due poll runs; the repositories' own poll interval is
  a day so no timed poll interferes) and the round runs until the Git server has been quiet
  for ``QUIET_S``;
* **round, push to one repository**: the same after a commit to one repository that
  touches none of its stacks' directories (``README.md``): the round pays the fetch and the
  per-stack diff, not a deploy (a deploy's cost is ``gitops_bench.py``'s);
* **anchor, naive**: ``git ls-remote`` once per stack (50), sequentially, from this process.

For each: requests the Git server logged (and how many of them were the 401 challenge of
basic auth), the fleetdeck server's CPU time over the round (``/proc/PID/stat``: its own
``utime+stime``, and ``cutime+cstime`` of the ``git`` children it waited for), and wall
time (first webhook sent → last request logged). The server's idle CPU over a window of the
same length is printed next to them (its other loops run too). Medians over ``--rounds``.
Run as root after ``scripts/setup.sh``: ``.venv/bin/python bench/gitops_poll_bench.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import api_pull, engine_client, machine  # noqa: E402
from fleet_bench import pids_with  # noqa: E402
from fleetdeck.client.client import FleetdeckClient  # noqa: E402
from fleetdeck.client.config import ClientConfig  # noqa: E402
from fleetdeck.lab import Lab  # noqa: E402
from fleetdeck.lab.git_server import GitServer  # noqa: E402

REPOS, PER_REPO = 10, 5
#: Seconds without a request to the Git server that end a round.
QUIET_S = 2.0
TICK = os.sysconf("SC_CLK_TCK")


def compose(image: str) -> str:
    """One small service doing nothing, on no network.

    50 stacks' own networks would exhaust the engine's default address pools.
    """
    return (f'services:\n  app:\n    image: {image}\n    command: ["sleep", "infinity"]\n'
            f"    network_mode: none\n")  # fmt: skip


def git(work: Path, *args: str) -> str:
    """Run git in a working clone."""
    out = subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    return out.stdout.strip()


def make_repo(server: GitServer, client: FleetdeckClient, work: Path, name: str,
              image: str) -> Path:  # fmt: skip
    """A repository of ``PER_REPO`` stacks on the Git server, known to fleetdeck; its clone."""
    server.create(name)
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "config", "user.email", "b@b")
    git(work, "config", "user.name", "b")
    for s in range(PER_REPO):
        (work / f"s{s}").mkdir()
        (work / f"s{s}" / "compose.yaml").write_text(compose(image))
    (work / "README.md").write_text("bench\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "stacks")
    git(work, "push", "-q", str(server.bare(name)), "HEAD:main")
    # A day between polls: no timed poll runs during the measured rounds.
    client.create_repo(name, server.url(name), username=server.username,
                       token=server.password, poll_interval_s=86400)  # fmt: skip
    return work


def cpu(pid: int) -> tuple[float, float]:
    """A process's own CPU seconds and those of its waited-for children (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime) / TICK, (cutime + cstime) / TICK


class AccessLog:
    """The Git server's access log, read from where the last call left off."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def new(self) -> list[tuple[float, int, str]]:
        """Requests logged since the last call: (epoch time, status, request line)."""
        if not self.path.exists():
            return []
        with self.path.open() as log:
            log.seek(self.offset)
            text = log.read()
            self.offset = log.tell()
        rows = []
        for line in text.splitlines():
            stamp, status, request = line.split(" ", 2)
            rows.append((float(stamp), int(status), request))
        return rows

    def settle(self, since: float, *, wait_first: bool = True) -> list[tuple[float, int, str]]:
        """The requests seen until none came for ``QUIET_S`` (30 s at most).

        With ``wait_first``, the quiet only counts after a first request.
        """
        rows: list[tuple[float, int, str]] = []
        last = time.time()
        while True:
            got = self.new()
            rows += got
            if got:
                last = time.time()
            quiet = time.time() - last
            if ((rows or not wait_first) and quiet >= QUIET_S) or time.time() - since > 30:
                return rows
            time.sleep(0.05)


def measure(log: AccessLog, pid: int, action: object) -> dict[str, float]:
    """Run ``action`` and wait for the Git server to be quiet: its costs."""
    log.settle(time.time(), wait_first=False)  # whatever was still going on
    own0, kids0 = cpu(pid)
    mine0 = os.times()
    start = time.time()
    action()  # type: ignore[operator]
    rows = log.settle(start)
    own1, kids1 = cpu(pid)
    mine1 = os.times()
    wall = (max(r[0] for r in rows) - start) if rows else 0.0
    return {
        "requests": len(rows),
        "challenges": sum(1 for r in rows if r[1] == 401),
        "server_cpu": own1 - own0,
        "git_cpu": kids1 - kids0,
        "bench_git_cpu": (mine1.children_user + mine1.children_system)
        - (mine0.children_user + mine0.children_system),
        "wall": wall,
    }


def row(what: str, samples: list[dict[str, float]], key_cpu: tuple[str, ...]) -> str:
    """One result line of medians."""

    def med(key: str) -> float:
        return statistics.median(s[key] for s in samples)

    cpu_text = "  ".join(f"{k} {med(k) * 1000:6.0f} ms" for k in key_cpu)
    return (f"{what:34} requests {med('requests'):4.0f} ({med('challenges'):3.0f} × 401)  "
            f"{cpu_text}  wall {med('wall'):5.2f}s  (n={len(samples)})")  # fmt: skip


def main() -> None:
    """Bring the lab up, register 50 stacks, measure, print, bring it down."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    lab = Lab(f"gitpoll{os.getpid() % 1000}")
    record, _ = lab.up(nodes=1, server=True)
    tmp = Path(tempfile.mkdtemp(prefix="gitops-poll-bench-"))
    try:
        assert record.server is not None
        node, image = record.nodes[0], record.images["base"]
        with engine_client(node.docker_host) as engine:
            api_pull(engine, image)
        config = ClientConfig(url=record.server.url, ca_cert=record.server.ca_cert,
                              token=record.server.token, timeout=300)  # fmt: skip
        tls = ssl.create_default_context(cafile=record.server.ca_cert)
        (pid,) = pids_with(record.server.data_dir, "server")
        server = GitServer(tmp / "git", record.gateway, access_log=True)
        with server, FleetdeckClient(config) as client:
            assert server.access_log is not None
            log = AccessLog(server.access_log)
            names = [f"poll{r}" for r in range(REPOS)]
            works = {name: make_repo(server, client, tmp / name, name, image) for name in names}
            secrets = {name: client.repo_webhook(name).secret for name in names}

            def register(name: str) -> None:
                for s in range(PER_REPO):
                    got = client.set_stack_source(f"{name}s{s}", node.name, name, path=f"s{s}")
                    if got.result != "deployed":
                        raise RuntimeError(f"{name}s{s}: {got.result}: {got.message}")

            began = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(register, names))
            print(f"50 stacks deployed from Git in {time.monotonic() - began:.0f}s")

            # One kept-alive connection: the round's cost, not ten TLS handshakes.
            forge = httpx.Client(base_url=record.server.url, verify=tls, timeout=30)

            def round_all() -> None:
                for name in names:
                    body = json.dumps({"ref": "refs/heads/main"}).encode()
                    key = secrets[name].encode()
                    sign = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
                    answer = forge.post(
                        f"/api/v1/repos/{name}/webhook", content=body,
                        headers={"X-Hub-Signature-256": sign,
                                 "X-GitHub-Delivery": uuid.uuid4().hex},
                    )  # fmt: skip
                    answer.raise_for_status()

            def push_then_round(n: int) -> None:
                work = works[names[0]]
                (work / "README.md").write_text(f"bench {n}\n")
                git(work, "commit", "-qam", f"readme {n}")
                # Straight to the bare repository: the push is not counted as the round's.
                git(work, "push", "-q", str(server.bare(names[0])), "HEAD:main")
                round_all()

            urls = [
                server.url(name).replace("://", f"://{server.username}:{server.password}@")
                for name in names
                for _ in range(PER_REPO)
            ]

            def naive() -> None:
                for url in urls:
                    subprocess.run(["git", "ls-remote", url], check=True, capture_output=True,
                                   timeout=60)  # fmt: skip

            results: dict[str, list[dict[str, float]]] = {
                k: [] for k in ("idle", "same", "push", "naive")
            }
            for n in range(args.rounds):
                results["same"].append(measure(log, pid, round_all))
                results["push"].append(measure(log, pid, lambda n=n: push_then_round(n)))
                results["naive"].append(measure(log, pid, naive))
                own0, kids0 = cpu(pid)
                time.sleep(results["same"][-1]["wall"] + QUIET_S)
                own1, kids1 = cpu(pid)
                idle = {"requests": 0.0, "challenges": 0.0, "server_cpu": own1 - own0,
                        "git_cpu": kids1 - kids0, "bench_git_cpu": 0.0,
                        "wall": results["same"][-1]["wall"] + QUIET_S}  # fmt: skip
                results["idle"].append(idle)
            forge.close()
            sources = [client.stack_source(f"{name}s0") for name in names[:2]]
        print(f"machine: {machine()}")
        print(f"one round: {REPOS} repositories, {REPOS * PER_REPO} stacks (medians; CPU of the "
              f"fleetdeck server pid {pid}: own, and its git children)")  # fmt: skip
        server_keys = ("server_cpu", "git_cpu")
        print(row("fleetdeck, no change", results["same"], server_keys))
        print(row("fleetdeck, push to 1 repo (no stack)", results["push"], server_keys))
        print(row("anchor: ls-remote per stack (50)", results["naive"], ("bench_git_cpu",)))
        print(row("server idle, same window + quiet", results["idle"], server_keys))
        for source in sources:
            print(f"  {source.stack}: {source.status} {source.message}")
    finally:
        lab.down()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
