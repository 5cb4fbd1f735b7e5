"""The sampler on a fake /proc and cgroup v2 tree: rates from two samples, buffering bound."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fleetdeck.agent.inventory import ContainerInventory
from fleetdeck.agent.metrics import MetricsSampler, rate
from fleetdeck.wire.containers import EngineContainer

from .test_inventory import FakeEngine
from .test_metrics_procfs import NET_DEV, write

if TYPE_CHECKING:
    from pathlib import Path

GROUP = "fdl-lab-node1/c1"


def fake_proc(root: Path, *, cpu_usec: int, rx: int, host_busy: int) -> Path:
    proc, cg = root / "proc", root / "cg"
    write(proc, "self/mounts", f"cgroup2 {cg} cgroup2 rw 0 0\n/dev/sda1 {root} ext4 rw 0 0\n")
    write(proc, "42/cgroup", f"0::/{GROUP}\n")
    write(proc, "42/net/dev", NET_DEV.replace("5000", str(rx)))
    write(proc, "net/dev", NET_DEV.replace("5000", str(rx * 2)))
    write(proc, "stat", f"cpu  {host_busy} 0 0 {8000 + host_busy} 0 0 0 0\ncpu0 0\ncpu1 0\n")
    write(proc, "loadavg", "1.00 0.50 0.25 1/100 7\n")
    write(proc, "meminfo", "MemTotal: 1000000 kB\nMemFree: 10000 kB\nMemAvailable: 750000 kB\n")
    write(cg, f"{GROUP}/cpu.stat", f"usage_usec {cpu_usec}\n")
    write(cg, f"{GROUP}/cpu.max", "200000 100000\n")
    write(cg, f"{GROUP}/memory.current", "3000000\n")
    write(cg, f"{GROUP}/memory.stat", "inactive_file 1000000\n")
    write(cg, f"{GROUP}/memory.max", "4000000\n")
    write(cg, f"{GROUP}/pids.current", "3\n")
    return proc


def inventory_with_container() -> ContainerInventory:
    inventory = ContainerInventory(FakeEngine(), metrics_buffer=5)
    inventory.containers["c1"] = EngineContainer(
        id="c1", name="web", image="img", state="running", created=datetime.now(UTC), pid=42,
        restart_count=2,
    )  # fmt: skip
    return inventory


def test_rates_come_from_two_consecutive_samples(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, cpu_usec=1_000_000, rx=5000, host_busy=1000)
    sampler = MetricsSampler(inventory_with_container(), proc=proc)
    first = sampler.sample(now=1000.0)
    c = first["containers"]["c1"]
    assert c["name"] == "web" and c["restart_count"] == 2 and c["pids"] == 3
    assert c["memory_working_set_bytes"] == 2_000_000
    assert c["memory_limit_bytes"] == 4_000_000 and c["memory_percent"] == 50.0
    assert "cpu_cores" not in c  # a rate needs two samples
    assert first["host"]["memory_available_bytes"] == 750000 * 1024
    assert first["host"]["memory_used_bytes"] == 250000 * 1024
    assert first["host"]["load1"] == 1.0 and first["host"]["cpu_count"] == 2
    assert str(tmp_path) in first["host"]["filesystems"]

    fake_proc(tmp_path, cpu_usec=16_000_000, rx=15000, host_busy=6000)
    second = sampler.sample(now=1010.0)
    c = second["containers"]["c1"]
    assert c["cpu_cores"] == 1.5  # 15 s of CPU in 10 s
    assert c["cpu_percent"] == 75.0  # of a 2-core limit
    assert c["net_rx_bytes_per_s"] == 1000.0 and c["net_tx_bytes_per_s"] == 0.0
    host = second["host"]
    assert host["cpu_percent"] == 50.0 and host["cpu_cores"] == 1.0
    assert host["interfaces"]["eth0"]["net_rx_bytes_per_s"] == 2000.0
    assert "lo" not in host["interfaces"]
    assert datetime.fromisoformat(second["time"]) == datetime.fromtimestamp(1010.0, UTC)
    assert sampler.last_cost < 0.5


def test_a_counter_reset_gives_no_rate_and_gone_containers_are_forgotten(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, cpu_usec=9_000_000, rx=5000, host_busy=1000)
    inventory = inventory_with_container()
    sampler = MetricsSampler(inventory, proc=proc)
    sampler.sample(now=1.0)
    fake_proc(tmp_path, cpu_usec=1_000, rx=5000, host_busy=1000)  # the container restarted
    assert "cpu_cores" not in sampler.sample(now=11.0)["containers"]["c1"]
    del inventory.containers["c1"]
    assert sampler.sample(now=21.0)["containers"] == {}
    assert rate(10, 5, 0) is None and rate(10, None, 1) is None and rate(20, 10, 2) == 5


def test_no_cgroup_means_no_entry(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, cpu_usec=1, rx=1, host_busy=1)
    inventory = inventory_with_container()
    inventory.containers["c1"] = inventory.containers["c1"].model_copy(update={"pid": 99})
    assert MetricsSampler(inventory, proc=proc).sample(now=1.0)["containers"] == {}


def _metrics(at: datetime, n: int) -> dict[str, Any]:
    return {"type": "metrics", "rev": n, "time": at.isoformat(), "host": {}, "containers": {}}


def _lines(inventory: ContainerInventory, since: datetime | None) -> list[dict[str, Any]]:
    sub = inventory.subscribe(metrics_since=since)
    out = []
    while not sub.queue.empty():
        line = sub.queue.get_nowait()
        assert line is not None
        out.append(json.loads(line))
    inventory.unsubscribe(sub)
    return out


def test_the_buffer_is_bounded_and_replayed_after_the_snapshot() -> None:
    inventory = ContainerInventory(FakeEngine(), metrics_buffer=5)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(12):
        inventory.publish_metrics(_metrics(t0 + timedelta(seconds=10 * n), n))
    lines = _lines(inventory, None)
    assert lines[0]["type"] == "snapshot"
    assert [m["rev"] for m in lines[1:]] == [7, 8, 9, 10, 11]  # only the newest 5 kept
    since = _lines(inventory, t0 + timedelta(seconds=95))
    assert [m["rev"] for m in since[1:]] == [10, 11]


def test_a_connected_subscriber_gets_samples_live() -> None:
    inventory = ContainerInventory(FakeEngine())
    sub = inventory.subscribe()
    sub.queue.get_nowait()  # the snapshot
    inventory.publish_metrics(_metrics(datetime.now(UTC), 1))
    line = sub.queue.get_nowait()
    assert line is not None and json.loads(line)["type"] == "metrics"
