"""Benchmark: unhealthy event → restart issued, fleetdeck's auto-heal against a 5 s poll loop.

Both run in the same round against the same lab engine, each on its own copy of the lab's
web container (health check every 1 s, 2 retries; ``/tmp`` a tmpfs, so a restart heals it):

* **fleetdeck**: the container is labelled ``fleetdeck.autoheal=true``; the server restarts
  it when the agent streams Docker's ``health_status: unhealthy`` (the event-driven path:
  engine event → agent → inventory stream → server → agent → engine).
* **anchor, willfarrell/autoheal's loop**: the container is labelled ``autoheal=true``; a
  loop in this process asks the engine every 5 s (autoheal's default ``AUTOHEAL_INTERVAL``)
  for running containers with that label and ``health=unhealthy`` and restarts them, as
  autoheal's shell script does over the Docker socket.

Both containers are made sick at the same moment; the latency is read from the engine's
own event stream (one clock): from a container's ``health_status: unhealthy`` event to the
first ``kill`` event of its restart (the engine acting on the restart request). Printed as
p50/p95 over ``--rounds`` rounds. Goal: fleetdeck ≤ 2 s at p95.

Run as root after ``scripts/setup.sh``: ``.venv/bin/python bench/autoheal_bench.py
[--rounds 12]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import api_pull, engine_client, machine, percentile  # noqa: E402
from fleetdeck.lab import Lab  # noqa: E402

#: willfarrell/autoheal's default interval (AUTOHEAL_INTERVAL).
POLL_INTERVAL_S = 5.0
PROBE = "wget -q -O /dev/null http://127.0.0.1:80/cgi-bin/health || exit 1"
HEALTH = {"Test": ["CMD-SHELL", PROBE], "Interval": 1_000_000_000, "Timeout": 2_000_000_000,
          "Retries": 2, "StartPeriod": 1_000_000_000}  # fmt: skip
ROUND_TIMEOUT_S = 60.0


class EventLog:
    """The engine's container events (time in ns, container id, action), read in a thread."""

    def __init__(self, docker_host: str) -> None:
        self.events: list[tuple[int, str, str]] = []
        self._client = engine_client(docker_host)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        filters = json.dumps({"type": ["container"]})
        try:
            with self._client.stream("GET", "/events", params={"filters": filters},
                                     timeout=None) as r:  # fmt: skip
                for line in r.iter_lines():
                    if line:
                        e = json.loads(line)
                        self.events.append(
                            (int(e["timeNano"]), e.get("id", ""), e.get("Action", ""))
                        )
        except httpx.HTTPError:
            return  # the lab went down at the end of the run

    def latency(self, container_id: str, since_ns: int) -> float | None:
        """Seconds from the first unhealthy event after ``since_ns`` to the next kill."""
        sick = None
        for when, cid, action in list(self.events):
            if cid != container_id or when < since_ns:
                continue
            if sick is None and action == "health_status: unhealthy":
                sick = when
            elif sick is not None and action.startswith("kill"):
                return (when - sick) / 1e9
        return None


def poll_loop(engine: httpx.Client, stop: threading.Event) -> None:
    """willfarrell/autoheal's loop: every interval, restart unhealthy ``autoheal=true`` ones."""
    filters = json.dumps({"health": ["unhealthy"], "label": ["autoheal=true"]})
    while not stop.wait(POLL_INTERVAL_S):
        for c in engine.get("/containers/json", params={"filters": filters}).json():
            engine.post(f"/containers/{c['Id']}/restart", params={"t": 1})


def create(engine: httpx.Client, image: str, name: str, labels: dict[str, str]) -> str:
    """Create and start a web container with a 1 s health check and a tmpfs ``/tmp``."""
    body: dict[str, Any] = {
        "Image": image, "Labels": labels, "Healthcheck": HEALTH,
        "HostConfig": {"Tmpfs": {"/tmp": ""}},  # noqa: S108 - inside the container
    }  # fmt: skip
    created = engine.post("/containers/create", params={"name": name}, json=body)
    created.raise_for_status()
    cid = str(created.json()["Id"])
    engine.post(f"/containers/{cid}/start").raise_for_status()
    return cid


def healthy(engine: httpx.Client, cid: str) -> bool:
    state = engine.get(f"/containers/{cid}/json").json()["State"]
    return (
        state.get("Status") == "running" and (state.get("Health") or {}).get("Status") == "healthy"
    )


def make_sick(engine: httpx.Client, cid: str) -> None:
    """``/cgi-bin/sick`` from inside the container (an exec)."""
    cmd = ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1/cgi-bin/sick"]
    made = engine.post(f"/containers/{cid}/exec", json={"Cmd": cmd})
    engine.post(f"/exec/{made.json()['Id']}/start", json={"Detach": True}).raise_for_status()


def wait(what: str, probe: Any, timeout: float = ROUND_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def report(name: str, samples: list[float], note: str) -> None:
    print(
        f"{name:<34} p50 {statistics.median(samples):6.3f}s  p95 {percentile(samples, 95):6.3f}s"
        f"  (min {min(samples):.3f}s, max {max(samples):.3f}s, n={len(samples)})  {note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--name", default="benchheal")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    lab = Lab(args.name)
    lab.down()
    record, _ = lab.up(nodes=1, server=True)
    stop = threading.Event()
    try:
        node = record.nodes[0]
        engine = engine_client(node.docker_host)
        image = record.images["web"]
        api_pull(engine, image)
        events = EventLog(node.docker_host)
        labels = {"fleetdeck.autoheal": "true", "fleetdeck.autoheal.stop_timeout": "1s",
                  "fleetdeck.autoheal.max_restarts": "100", "fleetdeck.autoheal.backoff": "1s",
                  "fleetdeck.autoheal.backoff_max": "1s"}  # fmt: skip
        healed = create(engine, image, "heal-fleetdeck", labels)
        polled = create(engine, image, "heal-poll", {"autoheal": "true"})
        threading.Thread(target=poll_loop, args=(engine_client(node.docker_host), stop),
                         daemon=True).start()  # fmt: skip
        rng = random.Random(15)  # noqa: S311 - a phase, not a secret
        ours: list[float] = []
        anchor: list[float] = []
        for _ in range(args.rounds):
            for cid in (healed, polled):
                wait("healthy", lambda cid=cid: healthy(engine, cid))
            # A random phase against the poll's ticks, as a real failure has.
            time.sleep(rng.uniform(0, POLL_INTERVAL_S))
            since = time.time_ns() - 1
            for cid in (healed, polled):
                make_sick(engine, cid)
            for cid, samples in ((healed, ours), (polled, anchor)):
                wait("the restart", lambda c=cid, t=since: events.latency(c, t) is not None)
                samples.append(events.latency(cid, since) or 0.0)
            # A streak's backoff (1 s here) must not be what is measured: let it lapse.
            time.sleep(1.5)
        print(f"unhealthy event → restart issued, {args.rounds} rounds, same engine, same run:")
        report("fleetdeck auto-heal (event-driven)", ours, "goal ≤ 2 s p95")
        report("anchor: 5 s poll (willfarrell)", anchor, "autoheal's AUTOHEAL_INTERVAL=5")
    finally:
        stop.set()
        lab.down()


if __name__ == "__main__":
    main()
