"""Bounded input: how fast alias bombs and huge files are refused, and what a normal parse costs.

Figures (medians), each next to its anchor from the same run:

- loader: an alias bomb of 5…9 levels (width 9) refused by ``fleetdeck.safeyaml`` — anchor:
  a normal 10-service Compose file parsed by the same loader; the 5- and 6-level bombs
  through the unbounded loader fleetdeck had before (PyYAML's pure-Python loader), to the
  first validation error;
- a 6.7 MB Compose file refused by its size — anchor: a 1 MiB file (the limit) parsed by the
  bounded loader and by the unbounded one;
- a real server (uvicorn, HTTP on loopback): ``POST /stacks/validate`` of a 9-level bomb and
  of a 6.7 MB file (a 96 MiB-limit route, logged in) answered, while ``GET /health`` is
  polled — anchor: ``GET /health`` latency on the idle server.

Run: ``.venv/bin/python bench/yaml_limits_bench.py [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine  # noqa: E402

from fleetdeck import safeyaml  # noqa: E402
from fleetdeck.compose import load_project, source  # noqa: E402
from fleetdeck.compose import loader as compose_loader  # noqa: E402
from fleetdeck.errors import InvalidInputError  # noqa: E402
from fleetdeck.server.app import create_app  # noqa: E402
from fleetdeck.server.config import ServerSettings  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

PASSWORD = "bench-password-1"  # noqa: S105 - a throw-away server's admin


def bomb(levels: int, width: int = 9) -> str:
    """A Compose file whose anchors expand to ``width ** levels`` items."""
    names = "abcdefghijklmnop"
    lines = ["x-bomb:", f"  a: &a [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(
            f"  {names[level]}: &{names[level]} [{', '.join([f'*{names[level - 1]}'] * width)}]"
        )
    return "\n".join(
        [
            *lines,
            "services:",
            "  web:",
            "    image: busybox",
            f"    command: *{names[levels - 1]}",
            "",
        ]
    )


def compose(size: int) -> str:
    """A Compose file of about ``size`` bytes: services of the usual shape."""
    parts = [
        "x-defaults: &defaults\n  restart: unless-stopped\n  logging: {driver: json-file}\n",
        "services:\n",
    ]
    total, i = sum(map(len, parts)), 0
    while total < size:
        block = (
            f"  svc{i}:\n    <<: *defaults\n    image: 10.0.0.1:5000/app{i}:1.{i}\n"
            f"    environment:\n      KEY_{i}: value-{i}\n"
            f'    ports:\n      - "{8000 + i % 1000}:80"\n'
            f'    labels:\n      com.example.svc{i}: "x"\n    command: ["sh", "-c", "echo hi"]\n'
        )
        parts.append(block)
        total += len(block)
        i += 1
    return "".join(parts)


def _unbounded_read(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=source.ComposeYamlLoader)  # noqa: S506


def timed(action: Callable[[], Any], rounds: int) -> float:
    """Median wall time of ``action`` in seconds (exceptions are the expected outcome)."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        try:
            action()
        except InvalidInputError:
            pass
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _parse(text: str) -> Any:
    return safeyaml.load(text, name="compose.yaml", loader=source.COMPOSE_LOADER)


def loader_figures(rounds: int, directory: Path) -> None:
    """The loader's figures (see the module docstring)."""
    normal = compose(4_000)
    ms = timed(functools.partial(_parse, normal), rounds) * 1000
    print(f"normal 10-service file ({len(normal)} B) parsed by the bounded loader: {ms:.2f} ms")
    for levels in range(5, 10):
        ms = timed(functools.partial(_parse, bomb(levels)), rounds) * 1000
        print(f"bomb {levels} levels (9^{levels} items) refused by the bounded loader: {ms:.2f} ms")
    bounded_read = source.read_yaml
    try:
        setattr(compose_loader, "read_yaml", _unbounded_read)  # noqa: B010 - as before
        for levels in (5, 6):
            path = directory / f"bomb{levels}.yaml"
            path.write_text(bomb(levels))
            took = timed(functools.partial(load_project, [path], env={}), 1)
            print(
                f"  anchor: bomb {levels} levels, unbounded loader + load_project "
                f"(to the first validation error): {took:.2f} s"
            )
    finally:
        setattr(compose_loader, "read_yaml", bounded_read)  # noqa: B010
    large = directory / "large.yaml"
    large.write_text(compose(6_700_000))
    refuse = functools.partial(safeyaml.load_file, large, loader=source.COMPOSE_LOADER)
    print(f"6.7 MB Compose file refused by its size: {timed(refuse, rounds) * 1000:.2f} ms")
    limit_text = compose(1024 * 1024 - 500)
    bounded = timed(functools.partial(_parse, limit_text), 3)
    plain = timed(functools.partial(yaml.load, limit_text, Loader=source.ComposeYamlLoader), 1)
    print(
        f"  anchor: a 1 MiB file (the limit) parsed: bounded loader {bounded:.2f} s, "
        f"unbounded pure-Python loader {plain:.2f} s"
    )


def server_figures(rounds: int, directory: Path) -> None:
    settings = ServerSettings.load(
        data_dir=directory / "data", listen="127.0.0.1:18650", admin_password=PASSWORD, tls=False
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=18650, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        asyncio.run(_server_run(rounds))
    finally:
        server.should_exit = True
        thread.join(30)


async def _server_run(rounds: int) -> None:
    async with httpx.AsyncClient(base_url="http://127.0.0.1:18650", timeout=120) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        client.cookies.clear()
        idle = [await _health(client) for _ in range(20)]
        print(
            "  anchor: GET /health on the idle server: "
            f"median {statistics.median(idle) * 1000:.1f} ms"
        )
        for label, text in (("9-level bomb", bomb(9)), ("6.7 MB file", compose(6_700_000))):
            body = {"files": [{"name": "compose.yaml", "content": text}]}
            took, during = [], []
            for _ in range(rounds):
                start = time.perf_counter()
                task = asyncio.create_task(
                    client.post("/api/v1/stacks/validate", json=body, headers=headers)
                )
                while not task.done():
                    during.append(await _health(client))
                response = await task
                took.append(time.perf_counter() - start)
                assert response.json()["ok"] is False, response.text  # noqa: S101
            print(
                f"server: {label} via POST /stacks/validate refused in median "
                f"{statistics.median(took) * 1000:.0f} ms; GET /health meanwhile: "
                f"median {statistics.median(during) * 1000:.1f} ms, "
                f"max {max(during) * 1000:.1f} ms "
                f"(n={len(during)})"
            )
    # Headers only: the answer comes before any of the 50 MB is sent.
    reader, writer = await asyncio.open_connection("127.0.0.1", 18650)
    start = time.perf_counter()
    writer.write(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b"Content-Length: 52428800\r\n\r\n"
    )
    status = (await reader.readline()).decode().strip()
    ms = (time.perf_counter() - start) * 1000
    writer.close()
    print(f"server: unauthenticated 50 MB POST answered {status!r} in {ms:.1f} ms, body unsent")


async def _health(client: httpx.AsyncClient) -> float:
    start = time.perf_counter()
    (await client.get("/api/v1/health")).raise_for_status()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    print(f"load average: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        loader_figures(args.rounds, Path(tmp))
        server_figures(args.rounds, Path(tmp))


if __name__ == "__main__":
    main()
