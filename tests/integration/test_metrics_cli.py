"""``fleetdeck metrics`` on a real fleet: ENV alone for a one-node environment, human sizes."""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING

import pytest

from tests.conftest import fleetdeck, server_env

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab


def test_a_one_node_environment_is_named_alone_and_bytes_print_human_sized(
    fleet3: LabRecord,
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[0].name  # each lab node is its own environment
    args = ("metrics", node, "-m", "memory_used_bytes", "--since", "5m")
    deadline = time.monotonic() + 60
    while True:  # the agents sample every 10 s: wait for this node's first sample
        points = json.loads(fleetdeck(*args, "-o", "json", env=env).stdout)["series"]
        if points and points[0]["points"]:
            break
        assert time.monotonic() < deadline, "no memory sample from the node"
        time.sleep(2)
    table = fleetdeck(*args, env=env).stdout
    assert f"of {node}/" in table  # ENV alone became ENV/NODE, its one node
    assert re.search(r"\d+\.\d (KiB|MiB|GiB)\n", table), table
    names = fleetdeck("metrics", "names", env=env).stdout
    assert re.search(r"^memory_used_bytes\s+bytes\s+host", names, re.MULTILINE), names
