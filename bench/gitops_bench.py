"""Benchmark: a push to Git → the new containers serving, by webhook and by poll.

A 1-node lab with its fleetdeck server, and the lab Git server (nginx + fcgiwrap +
``git http-backend``, basic auth) on the gateway. One stack (the lab web image, one
service) is deployed from a repository. Each round changes its ``WEB_VERSION`` (and a
``bench.version`` label), pushes, and measures until a container of the new version is
healthy (the image's check requests ``/cgi-bin/health`` every 2 s), read from the node's
engine:

* **webhook**: from the signed delivery (``X-Hub-Signature-256``) being sent;
* **poll**: no webhook, the repository's ``poll_interval_s`` (``--poll``, default 5 s):
  from the push; the wait for the next poll is part of it (expected ≈ interval / 2 + deploy);
* **anchor, plain deploy**: the same change sent with ``fleetdeck stack deploy -f`` (the
  client's ``deploy_stack``) to a second stack, from the request being sent;
* **anchor, docker-compose**: Debian's ``docker-compose up -d`` of the same file against the
  node's engine (a third project), from the command.

Printed as median/p95 over ``--rounds``. Goal: webhook ≤ 5 s p95 for a one-service change.
Run as root after ``scripts/setup.sh``: ``.venv/bin/python bench/gitops_bench.py [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import engine_client, machine, percentile  # noqa: E402
from fleetdeck.client.client import FleetdeckClient  # noqa: E402
from fleetdeck.client.config import ClientConfig  # noqa: E402
from fleetdeck.lab import Lab  # noqa: E402
from fleetdeck.lab.git_server import GitServer  # noqa: E402

TIMEOUT_S = 120.0


def compose(image: str, version: int) -> str:
    """One web service labelled (and answering) with ``version``."""
    return (f'services:\n  web:\n    image: {image}\n'
            f'    environment: {{WEB_VERSION: "{version}"}}\n'
            f'    labels: {{bench.version: "{version}"}}\n')  # fmt: skip


def serving(engine: httpx.Client, project: str, version: int, start: float,
            why: object = None) -> float:  # fmt: skip
    """Seconds from ``start`` until a container of ``project`` at ``version`` is healthy.

    Healthy is the web image's own check passing (``/cgi-bin/health`` answered), read from
    the node's engine: the stack's containers are on the node's own networks, and a fixed
    host port would be re-bound by each deploy.
    """
    filters = json.dumps({"label": [f"com.docker.compose.project={project}",
                                    f"bench.version={version}"]})  # fmt: skip
    while time.monotonic() - start < TIMEOUT_S:
        found = engine.get("/containers/json", params={"filters": filters}).json()
        if any("(healthy)" in c.get("Status", "") for c in found):
            return time.monotonic() - start
        time.sleep(0.05)
    raise TimeoutError(
        f"{project} never served version {version}: {why() if callable(why) else ''}"
    )


def drain(client: FleetdeckClient, stack: str, env: str, files: list[dict[str, str]]) -> None:
    """Deploy ``files`` with the plain stack route, reading its stream to the end."""
    for _ in client.deploy_stack(stack, env, files):
        pass


def git(work: Path, *args: str) -> str:
    """Run git in the working clone."""
    out = subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    return out.stdout.strip()


def push(work: Path, bare: Path, text: str, message: str) -> None:
    """Commit ``compose.yaml`` and push it."""
    (work / "compose.yaml").write_text(text)
    git(work, "commit", "-qam", message)
    git(work, "push", "-q", str(bare), "HEAD:main")


def line(what: str, samples: list[float]) -> str:
    """One result line: median and p95."""
    return (f"{what:38} median {statistics.median(samples):6.2f}s  "
            f"p95 {percentile(samples, 95):6.2f}s  (n={len(samples)})")  # fmt: skip


def main() -> None:
    """Bring the lab up, measure, print, bring it down."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--poll", type=int, default=5)
    args = parser.parse_args()
    lab = Lab(f"gitbench{os.getpid() % 1000}")
    record, _ = lab.up(nodes=1, server=True)
    tmp = Path(tempfile.mkdtemp(prefix="gitops-bench-"))
    try:
        assert record.server is not None
        node, image = record.nodes[0], record.images["web"]
        config = ClientConfig(url=record.server.url, ca_cert=record.server.ca_cert,
                              token=record.server.token)  # fmt: skip
        tls = ssl.create_default_context(cafile=record.server.ca_cert)
        with GitServer(tmp / "git", record.gateway) as server, FleetdeckClient(config) as client:
            results: dict[str, list[float]] = {k: [] for k in
                                               ("webhook", "poll", "plain", "compose")}  # fmt: skip
            stacks = {}
            engine = engine_client(node.docker_host)
            for kind, poll in (("webhook", 3600), ("poll", args.poll)):
                name = f"bench-{kind}"
                server.create(name)
                work = tmp / kind
                work.mkdir()
                git(work, "init", "-q", "-b", "main")
                git(work, "config", "user.email", "b@b")
                git(work, "config", "user.name", "b")
                (work / "compose.yaml").write_text(compose(image, 0))
                git(work, "add", "-A")
                git(work, "commit", "-qm", "v0")
                git(work, "push", "-q", str(server.bare(name)), "HEAD:main")
                client.create_repo(name, server.url(name), username=server.username,
                                   token=server.password, poll_interval_s=poll)  # fmt: skip
                stack = f"g{kind}{uuid.uuid4().hex[:4]}"
                client.set_stack_source(stack, node.name, name)
                stacks[kind] = (stack, work, server.bare(name))
            secret = client.repo_webhook("bench-webhook").secret
            plain = f"gplain{uuid.uuid4().hex[:4]}"
            project = f"gcompose{uuid.uuid4().hex[:4]}"
            for n in range(1, args.rounds + 1):
                stack, work, bare = stacks["webhook"]
                push(work, bare, compose(image, n), f"v{n}")
                body = json.dumps({"ref": "refs/heads/main"}).encode()
                sign = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                start = time.monotonic()
                httpx.post(f"{record.server.url}/api/v1/repos/bench-webhook/webhook",
                           content=body, verify=tls, timeout=30,
                           headers={"X-Hub-Signature-256": sign,
                                    "X-GitHub-Delivery": f"b{n}{uuid.uuid4().hex}"})  # fmt: skip
                why = lambda s=stack: client.stack_source(s)  # noqa: E731
                results["webhook"].append(serving(engine, stack, n, start, why))

                stack, work, bare = stacks["poll"]
                start = time.monotonic()
                push(work, bare, compose(image, n), f"v{n}")
                results["poll"].append(serving(engine, stack, n, start))

                files = [{"name": "compose.yaml", "content": compose(image, n)}]
                start = time.monotonic()
                reader = threading.Thread(target=drain, args=(client, plain, node.name, files))
                reader.start()  # the stream goes on after the new container serves
                results["plain"].append(serving(engine, plain, n, start))
                reader.join()

                path = tmp / "compose" / "compose.yaml"
                path.parent.mkdir(exist_ok=True)
                path.write_text(compose(image, n))
                start = time.monotonic()
                up = subprocess.Popen(
                    ["docker-compose", "-p", project, "-f", str(path), "up", "-d"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    env={**os.environ, "DOCKER_HOST": node.docker_host},
                )  # fmt: skip
                results["compose"].append(serving(engine, project, n, start))
                up.wait(timeout=120)
            subprocess.run(["docker-compose", "-p", project, "-f", str(path), "down"],
                           check=False, capture_output=True, timeout=120,
                           env={**os.environ, "DOCKER_HOST": node.docker_host})  # fmt: skip
        print(f"machine: {machine()}")
        print("push → new container serving (healthy), one-service change, plain lab host")
        print(line("fleetdeck, signed webhook", results["webhook"]))
        print(line(f"fleetdeck, poll every {args.poll}s (from push)", results["poll"]))
        print(line("anchor: fleetdeck stack deploy -f", results["plain"]))
        print(line("anchor: docker-compose up -d", results["compose"]))
    finally:
        lab.down()


if __name__ == "__main__":
    main()
