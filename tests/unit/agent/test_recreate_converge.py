"""converge(): every state an interrupted recreate can leave ends with one container, running.

A fake engine at the Engine boundary holds containers by name; the real engine's behaviour
is covered by tests/integration/test_fleet_containers_make.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fleetdeck.agent.engine_recreate import NEW_SUFFIX, OLD_SUFFIX, converge, converge_all
from fleetdeck.errors import NotFoundError


class FakeEngine:
    """Containers by name: {name: {"Id", "State": {"Status"}}}."""

    def __init__(self, containers: dict[str, str]) -> None:
        self.by_name: dict[str, dict[str, Any]] = {
            name: {"Id": f"id-{name}", "Name": "/" + name, "State": {"Status": state}}
            for name, state in containers.items()
        }

    def _find(self, ref: str) -> tuple[str, dict[str, Any]]:
        for name, c in self.by_name.items():
            if ref in (name, c["Id"]):
                return name, c
        raise NotFoundError(f"no such container: {ref}")

    async def inspect_container(self, ref: str) -> dict[str, Any]:
        """The container named or numbered ``ref``."""
        return self._find(ref)[1]

    async def rename_container(self, ref: str, name: str) -> None:
        """Give it another name."""
        old, c = self._find(ref)
        self.by_name[name] = self.by_name.pop(old)
        c["Name"] = "/" + name

    async def remove_container(self, ref: str, *, force: bool, volumes: bool) -> None:
        """Forget it."""
        del self.by_name[self._find(ref)[0]]

    async def container_action(self, ref: str, action: str, **_: Any) -> None:
        """Start it (running) or stop it (exited)."""
        self._find(ref)[1]["State"]["Status"] = "running" if action == "start" else "exited"

    async def request(self, method: str, path: str, **_: Any) -> Any:
        """The container list (the one raw call converge_all makes)."""
        assert (method, path) == ("GET", "containers/json")
        return [{"Names": [c["Name"]]} for c in self.by_name.values()]

    def states(self) -> dict[str, tuple[str, str]]:
        """{name: (id, state)}."""
        return {n: (c["Id"], c["State"]["Status"]) for n, c in self.by_name.items()}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # killed after creating the new one: it goes, the old one stays as it was
        ({"web": "running", "web" + NEW_SUFFIX: "created"}, {"web": ("id-web", "running")}),
        # killed after renaming the old one away: it gets its name back
        (
            {"web" + OLD_SUFFIX: "running", "web" + NEW_SUFFIX: "created"},
            {"web": ("id-web" + OLD_SUFFIX, "running")},
        ),
        # killed after the new one took the name: forwards (old stopped and removed)
        ({"web": "created", "web" + OLD_SUFFIX: "running"}, {"web": ("id-web", "running")}),
        # killed before removing the stopped old one
        ({"web": "running", "web" + OLD_SUFFIX: "exited"}, {"web": ("id-web", "running")}),
        # nothing to do
        ({"web": "exited"}, {"web": ("id-web", "exited")}),
    ],
)
def test_converge_ends_every_interrupted_state(
    before: dict[str, str], after: dict[str, tuple[str, str]]
) -> None:
    engine = FakeEngine(before)
    asyncio.run(converge(engine, "web"))  # type: ignore[arg-type]
    assert engine.states() == after


def test_converge_all_finds_every_name_left_behind() -> None:
    engine = FakeEngine({
        "a" + NEW_SUFFIX: "created", "a": "running",
        "b": "created", "b" + OLD_SUFFIX: "running", "c": "running",
    })  # fmt: skip
    asyncio.run(converge_all(engine))  # type: ignore[arg-type]
    assert engine.states() == {
        "a": ("id-a", "running"), "b": ("id-b", "running"), "c": ("id-c", "running"),
    }  # fmt: skip
