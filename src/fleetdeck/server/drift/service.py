"""The drift service (``ServerContext.drift``): reports, policies and suspensions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.server.stacks.files import check_stack_name

if TYPE_CHECKING:
    from fleetdeck.server.drift.repository import DriftRepository
    from fleetdeck.server.drift.watcher import DriftWatcher
    from fleetdeck.server.stacks.service import StackService


class DriftService:
    """What the API and the stack listing ask of drift."""

    def __init__(self, watcher: DriftWatcher, repo: DriftRepository, stacks: StackService) -> None:
        self.watcher = watcher
        self.repo = repo
        self.stacks = stacks

    def state_of(self, name: str) -> str:
        """The stack's drift state as last seen (``unknown`` before its first look)."""
        report = self.watcher.report(name)
        return report.state if report is not None else "unknown"

    async def report(self, name: str) -> dict[str, Any]:
        """A fresh look at one managed stack (NotFound for an unknown one)."""
        stored = await self.stacks.repo.require(check_stack_name(name))
        watcher = self.watcher
        async with watcher.lock:
            state = await self.repo.get(stored.name)
            if stored.revision is None or not stored.files:
                report = await watcher.undeployed(stored, state)
            else:
                report = await watcher.evaluate(stored, state, force=True)
                watcher.reports[stored.name] = report
        return report.to_json()

    async def set(self, name: str, policy: str | None, suspended: bool | None) -> dict[str, Any]:
        """Set the API's policy (``default``: remove it) and/or the suspension; the report."""
        stored = await self.stacks.repo.require(check_stack_name(name))
        fields: dict[str, Any] = {}
        if policy is not None:
            fields["policy"] = None if policy == "default" else policy
        if suspended is not None:
            fields["suspended"] = suspended
        if suspended is False:  # resumed: a revert may start at once
            fields.update(reverts=0, next_revert_at=None)
        if fields:
            await self.repo.update(stored.name, **fields)
        self.watcher.loop.wake()
        return await self.report(stored.name)
