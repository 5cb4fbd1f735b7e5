"""The container agent's swap (:mod:`fleetdeck.agent.swap`) and how an agent finds itself.

The engine is a fake at the Engine boundary (containers by id and name, renames, starts,
stops, removes); the server's downloads and ``docker load`` are replaced. The new agent's
port is faked too, and its steadiness period set to 0: no wall-clock waits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.agent import swap
from fleetdeck.agent.upgrade import own_container_id
from fleetdeck.errors import ConflictError, NotFoundError

if TYPE_CHECKING:
    from pathlib import Path

CID = "a" * 64
NAME = "fleetdeck-agent"
ARGS = {"container": NAME, "old_id": "old", "server": "https://s", "ca": "", "port": 9001}


class FakeEngine:
    """Containers by id; names move with renames."""

    def __init__(self) -> None:
        self.containers: dict[str, dict[str, Any]] = {}
        self.log: list[str] = []

    def add(self, cid: str, name: str, image: str, *, running: bool = True) -> None:
        """Add a container (running unless said)."""
        self.containers[cid] = {
            "Id": cid, "Name": f"/{name}", "Image": image, "RestartCount": 0,
            "State": {"Running": running},
            "Config": {"Image": image, "Env": ["FLEETDECK_AGENT_LISTEN=0.0.0.0:9001"]},
            "HostConfig": {"NetworkMode": "host", "Binds": ["/s.sock:/var/run/docker.sock"]},
            "Mounts": [
                {"Type": "bind", "Source": "/s.sock", "Destination": "/var/run/docker.sock"},
                {"Type": "volume", "Name": "fleetdeck-agent", "Destination": "/data"},
            ],
        }  # fmt: skip

    def _find(self, ref: str) -> dict[str, Any]:
        for c in self.containers.values():
            if ref in (c["Id"], c["Name"].lstrip("/")):
                return c
        raise NotFoundError(f"no container {ref}")

    def names(self) -> dict[str, bool]:
        """``{name: running}`` of every container."""
        return {c["Name"].lstrip("/"): c["State"]["Running"] for c in self.containers.values()}

    async def inspect_container(self, ref: str) -> dict[str, Any]:
        """The container by id or name."""
        return self._find(ref)

    async def rename_container(self, ref: str, name: str) -> None:
        """Rename it."""
        self.log.append(f"rename {self._find(ref)['Id']} {name}")
        self._find(ref)["Name"] = f"/{name}"

    async def container_action(self, ref: str, action: str, *, timeout: int | None = None) -> None:
        """Start or stop it."""
        self.log.append(f"{action} {self._find(ref)['Id']}")
        self._find(ref)["State"]["Running"] = action == "start"

    async def remove_container(self, ref: str, *, force: bool, volumes: bool) -> None:
        """Remove it."""
        self.log.append(f"rm {self._find(ref)['Id']}")
        del self.containers[self._find(ref)["Id"]]

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Create a container, or an image's inspect."""
        if path == "containers/create":
            self.add("new", kwargs["params"]["name"], kwargs["body"]["Image"], running=False)
            return {"Id": "new"}
        if path.startswith("images/"):
            ref = path.removeprefix("images/").removesuffix("/json")
            return {"Id": "img-" + ref, "Config": {"Env": [], "Labels": {}}}
        raise AssertionError(path)


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(swap, "STEADY_S", 0.0)


def _serving(monkeypatch: pytest.MonkeyPatch, engine: FakeEngine, up: bool) -> None:
    """The new container's port opens (``up``) or never does."""
    monkeypatch.setattr(swap, "_port_open", lambda port: up)
    monkeypatch.setattr(swap, "_manifest", lambda s, ca: {"image": {"sha256": "0" * 64}})
    monkeypatch.setattr(swap, "_download", lambda s, ca, target, sha: None)

    async def load(engine: Any, tarball: Path) -> str:
        return "next"

    monkeypatch.setattr(swap, "_load", load)


def test_an_agent_finds_its_container_from_its_mounts_or_cgroup() -> None:
    mountinfo = f"1 2 0:1 /var/lib/docker/containers/{CID}/hostname /etc/hostname rw"
    assert own_container_id(mountinfo, "") == CID
    assert own_container_id("", f"12:memory:/lab-node1/{CID}\n") == CID
    assert own_container_id("", f"0::/system.slice/docker-{CID}.scope\n") == CID
    assert own_container_id("1 2 0:1 / / rw", "0::/init.scope\n") is None


def test_the_helper_runs_the_agents_image_with_its_socket_and_state_only() -> None:
    engine = FakeEngine()
    engine.add("old", NAME, "sha256:img-old")
    body = swap.helper_body(engine.containers["old"], ARGS)
    assert body["Image"] == "sha256:img-old"
    assert body["Entrypoint"] == ["python", "-m", "fleetdeck.agent.swap"]
    mounts = {m["Target"]: m["Source"] for m in body["HostConfig"]["Mounts"]}
    assert mounts == {"/var/run/docker.sock": "/s.sock", "/data": "fleetdeck-agent"}
    assert body["HostConfig"]["NetworkMode"] == "host"
    engine.containers["old"]["Mounts"] = []
    with pytest.raises(ConflictError, match="no /var/run/docker.sock"):
        swap.helper_body(engine.containers["old"], ARGS)


async def test_a_new_agent_that_comes_up_replaces_the_old(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeEngine()
    engine.add("old", NAME, "img-old")
    _serving(monkeypatch, engine, up=True)
    assert await swap.swap(engine, {**ARGS, "timeout": 5}) == "moved"  # type: ignore[arg-type]
    assert engine.names() == {NAME: True}
    assert engine.containers["new"]["Image"] == "next"
    # The old one was stopped before the new one started (the port is the same).
    assert engine.log.index("stop old") < engine.log.index("start new")


async def test_a_new_agent_that_does_not_come_up_is_undone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = FakeEngine()
    engine.add("old", NAME, "img-old")
    _serving(monkeypatch, engine, up=False)
    assert await swap.swap(engine, {**ARGS, "timeout": 0}) == "undone"  # type: ignore[arg-type]
    assert engine.names() == {NAME: True}
    assert list(engine.containers) == ["old"]
    assert engine.log[-3:] == ["rm new", f"rename old {NAME}", "start old"]


async def test_the_same_image_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeEngine()
    engine.add("old", NAME, "img-next")
    _serving(monkeypatch, engine, up=True)
    assert await swap.swap(engine, {**ARGS, "timeout": 5}) == "unchanged"  # type: ignore[arg-type]
    assert engine.log == []


@pytest.mark.parametrize(("up", "outcome"), [(True, "moved"), (False, "undone")])
async def test_a_helper_started_again_judges_what_it_left(
    monkeypatch: pytest.MonkeyPatch, up: bool, outcome: str
) -> None:
    """Interrupted after the swap (a reboot): the previous container decides, no download."""
    engine = FakeEngine()
    engine.add("old", NAME + swap.PREVIOUS_SUFFIX, "img-old", running=False)
    engine.add("new", NAME, "next")
    _serving(monkeypatch, engine, up=up)

    def no_download(*args: Any) -> None:
        raise AssertionError("a resumed swap downloads nothing")

    monkeypatch.setattr(swap, "_manifest", no_download)
    assert await swap.swap(engine, {**ARGS, "timeout": 0 if not up else 5}) == outcome  # type: ignore[arg-type]
    assert engine.names() == {NAME: True}
    assert list(engine.containers) == (["new"] if up else ["old"])


async def test_an_undo_interrupted_half_way_is_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    """The new container already removed: the previous one gets its name back and runs."""
    engine = FakeEngine()
    engine.add("old", NAME + swap.PREVIOUS_SUFFIX, "img-old", running=False)
    _serving(monkeypatch, engine, up=False)
    assert await swap.swap(engine, {**ARGS, "timeout": 0}) == "undone"  # type: ignore[arg-type]
    assert engine.names() == {NAME: True}
