"""Scaled counts over the Compose file's: kept while the file says the same, dropped after."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.compose import load_project
from fleetdeck.server.stacks.scaling import Scaled, ScaleRepository, effective_counts

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.compose import Project
    from fleetdeck.server.store import Store

FILE = """
services:
  web: {{image: web, deploy: {{replicas: {web}}}}}
  api: {{image: api}}
"""


def _project(tmp_path: Path, web: int) -> Project:
    path = tmp_path / "compose.yaml"
    path.write_text(FILE.format(web=web))
    return load_project([path], project_name="shop", env={})


def test_a_scaled_count_wins_until_the_files_count_changes(tmp_path: Path) -> None:
    web = Scaled("shop", "web", 5, 2, False, "alice")
    api = Scaled("shop", "api", 3, 1, False, "autoscaler")
    gone = Scaled("shop", "worker", 2, 1, False, "alice")
    wins, stale = effective_counts([web, api, gone], _project(tmp_path, 2))
    assert wins == {"web": 5, "api": 3}
    assert stale == [gone]  # its service left the file
    wins, stale = effective_counts([web, api], _project(tmp_path, 4))
    assert wins == {"api": 3} and stale == [web]  # the file's author decided


async def test_the_repository_keeps_pending_until_converged(store: Store) -> None:
    repo = ScaleRepository(store)
    await repo.put(Scaled("shop", "web", 3, 1, True, "alice"))
    assert [r.service for r in await repo.pending()] == ["web"]
    await repo.converged("shop", "web", 2)  # another count converged: still pending
    assert await repo.pending()
    await repo.converged("shop", "web", 3)
    assert await repo.pending() == []
    await repo.put(Scaled("shop", "web", 4, 1, True, "bob"))  # replaced, not doubled
    await repo.put(Scaled("shop", "api", 2, 1, False, "bob"))
    found = await repo.find("shop", "web")
    assert found is not None and (found.replicas, found.actor, found.pending) == (4, "bob", True)
    await repo.drop("shop", ["web"])
    assert [r.service for r in await repo.of_stack("shop")] == ["api"]
    await repo.drop("shop")
    assert await repo.of_stack("shop") == []
