"""Docker JSON → wire models, and demultiplexing of Docker's output streams."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiohttp import StreamReader
from aiohttp.base_protocol import BaseProtocol

from fleetdeck.agent import convert
from fleetdeck.agent.engine_resources import qualify_reference
from fleetdeck.agent.streams import log_line, log_lines

SUMMARY = {
    "Id": "abc",
    "Names": ["/web-1"],
    "Image": "reg/web:1",
    "ImageID": "sha256:1",
    "Created": 1_700_000_000,
    "State": "running",
    "Status": "Up 5 minutes (healthy)",
    "Ports": [{"PrivatePort": 80, "PublicPort": 8080, "IP": "127.0.0.1", "Type": "tcp"}],
    "Labels": {"com.docker.stack.namespace": "shop", "com.docker.swarm.service.name": "shop_web"},
}
INSPECT = {
    "RestartCount": 2,
    "State": {"StartedAt": "2024-05-01T10:00:00.123456789Z", "Health": {"Status": "healthy"}},
}


def test_engine_container_from_summary_and_inspect() -> None:
    c = convert.engine_container(SUMMARY, INSPECT)
    assert (c.name, c.state, c.health, c.restart_count) == ("web-1", "running", "healthy", 2)
    assert (c.stack, c.service) == ("shop", "shop_web")
    assert c.started_at == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert c.ports[0].public_port == 8080
    labels = {"com.docker.compose.project": "p", "com.docker.compose.service": "s"}
    compose = {**SUMMARY, "Labels": labels}
    c = convert.engine_container(compose, {"State": {"StartedAt": "0001-01-01T00:00:00Z"}})
    assert (c.stack, c.service, c.health, c.started_at) == ("p", "s", None, None)


def _reading(cpu: int, system: int, mem_stats: dict[str, int]) -> dict[str, object]:
    cpu_stats = {"cpu_usage": {"total_usage": cpu}, "system_cpu_usage": system, "online_cpus": 2}
    blkio = [{"op": "Read", "value": 5}, {"op": "write", "value": 7}]
    return {
        "read": "2024-05-01T10:00:00Z",
        "cpu_stats": cpu_stats,
        "memory_stats": {"usage": 100 * 2**20, "limit": 1000 * 2**20, "stats": mem_stats},
        "networks": {
            "eth0": {"rx_bytes": 10, "tx_bytes": 20},
            "eth1": {"rx_bytes": 1, "tx_bytes": 2},
        },
        "blkio_stats": {"io_service_bytes_recursive": blkio},
        "pids_stats": {"current": 3},
    }


def test_stats_from_two_readings_cgroup_v1_and_v2() -> None:
    cache = {"cache": 20 * 2**20}
    v1 = convert.container_stats(_reading(1_000, 10_000, cache), _reading(2_000, 20_000, cache))
    assert v1.cpu_percent == 20.0  # 1000/10000 of the machine, times 2 CPUs
    assert v1.memory_usage == 80 * 2**20
    assert v1.memory_percent == 8.0
    assert (v1.net_rx, v1.net_tx, v1.blk_read, v1.blk_write, v1.pids) == (11, 22, 5, 7, 3)
    inactive = {"inactive_file": 50 * 2**20}
    v2 = convert.container_stats(_reading(0, 0, inactive), _reading(0, 0, inactive))
    assert (v2.cpu_percent, v2.memory_usage) == (0.0, 50 * 2**20)


def test_pull_references_get_a_tag() -> None:
    assert qualify_reference("reg:5000/a/b") == "reg:5000/a/b:latest"
    assert qualify_reference("reg:5000/a/b:2") == "reg:5000/a/b:2"
    assert qualify_reference("a/b@sha256:00") == "a/b@sha256:00"


def _reader(data: bytes) -> StreamReader:
    loop = asyncio.get_running_loop()
    reader = StreamReader(BaseProtocol(loop), 2**16, loop=loop)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def _frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


async def test_multiplexed_frames_become_lines_per_stream() -> None:
    data = _frame(1, b"hel") + _frame(2, b"oops\n") + _frame(1, b"lo\nwor") + _frame(1, b"ld")
    lines = [
        (e.stream, e.line) async for e in log_lines(_reader(data), tty=False, timestamps=False)
    ]
    assert lines == [("stderr", "oops"), ("stdout", "hello"), ("stdout", "world")]
    reader = _reader(b"a\r\nb\n")
    tty = [e.line async for e in log_lines(reader, tty=True, timestamps=False)]
    assert tty == ["a", "b"]


def test_timestamped_line() -> None:
    line = log_line("stdout", "2024-05-01T10:00:00.000000001Z hello world", timestamps=True)
    assert (line.line, line.time) == ("hello world", datetime(2024, 5, 1, 10, tzinfo=UTC))
