"""Running one deploy: validated up front, applied in a background task, streamed as NDJSON.

Everything that can reject a deploy (files, variables, hardening, images, ports) runs in
:meth:`StackService.prepare <fleetdeck.server.stacks.service.StackService.prepare>` before a
:class:`DeployRun` exists. The apply then runs in its own task, so a client that goes away
does not cut a deploy in half; the stream is a window onto it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import FleetdeckError, NodeUnreachableError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from fleetdeck.compose import Project
    from fleetdeck.server.stacks.plan import (
        DeployOutcome,
        DeployTarget,
        Plan,
        ProgressEvent,
        StackApplier,
        Strategy,
    )

log = logging.getLogger("fleetdeck.server.stacks")


@dataclass
class DeployRun:
    """A prepared deploy: what will be applied where, and what to do when it ends."""

    stack: str
    project: Project
    plan: Plan
    target: DeployTarget
    applier: StackApplier
    strategy: Strategy
    finish: Callable[[DeployOutcome], Awaitable[None]]
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)
    #: Called when the deploy ended, whoever still reads the stream (audit, lock release).
    after: Callable[[DeployOutcome], Awaitable[None]] | None = None

    async def _progress(self, event: ProgressEvent) -> None:
        await self.queue.put({"type": "progress", **event.to_json()})

    async def _run(self) -> None:
        from fleetdeck.server.stacks.plan import DeployOutcome

        try:
            outcome = await self.applier.apply(
                self.project,
                self.plan,
                self.target,
                strategy=self.strategy,
                progress=self._progress,
            )
        except NodeUnreachableError as exc:
            # Nothing can be undone on a node we cannot reach; the next deploy converges.
            message = f"{exc.message}; the deploy stopped there: deploy again once the node is back"
            outcome = DeployOutcome(False, message)
        except FleetdeckError as exc:
            outcome = DeployOutcome(False, exc.message)
        except Exception as exc:  # the deploy must end with a result, whatever broke
            log.exception("deploy of %s failed unexpectedly", self.stack)
            outcome = DeployOutcome(False, f"internal error: {type(exc).__name__}")
        try:
            await self.finish(outcome)
        finally:
            if self.after is not None:
                await self.after(outcome)
            await self.queue.put(
                {
                    "type": "result",
                    "ok": outcome.ok,
                    "message": outcome.message,
                    "rolled_back": outcome.rolled_back,
                    "revision": self.target.revision,
                    "image_digests": outcome.image_digests,
                }
            )
            await self.queue.put(None)

    def start(self) -> AsyncIterator[dict[str, Any]]:
        """Start applying; iterate the returned stream for plan, progress and result."""
        task = asyncio.create_task(self._run(), name=f"deploy {self.stack}")
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)
        return self._stream()

    async def _stream(self) -> AsyncIterator[dict[str, Any]]:
        yield {"type": "plan", **self.plan.to_json()}
        while True:
            item = await self.queue.get()
            if item is None:
                return
            yield item


#: Deploys in flight (kept referenced so they run to the end even without a reader).
_RUNNING: set[asyncio.Task[None]] = set()


async def wait_running() -> None:
    """Let deploys in flight finish (server shutdown), cancelling after a while."""
    if not _RUNNING:
        return
    _, pending = await asyncio.wait(list(_RUNNING), timeout=30)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
