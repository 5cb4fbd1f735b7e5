"""Talking to a lab node's engine with the real docker CLI, as an operator would."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetdeck.lab import NodeRecord


def docker(node: NodeRecord, *args: str, check: bool = True, timeout: float = 120) -> str:
    """Run ``docker ARGS`` against the node's engine and return its stdout."""
    proc = subprocess.run(
        ["docker", "--host", node.docker_host, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} on {node.name}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def in_node(node: NodeRecord, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a command in the node's network namespace (without a shell)."""
    return subprocess.run(
        ["nsenter", f"--net=/run/netns/{node.netns}", "--", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def reachable(node: NodeRecord, url: str) -> bool:
    """Whether an HTTP GET of ``url`` from inside ``node`` succeeds within 2 s."""
    probe = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)"
    return in_node(node, sys.executable, "-c", probe, url).returncode == 0
