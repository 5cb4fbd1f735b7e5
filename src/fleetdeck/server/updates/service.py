"""``ServerContext.updates``: the image-update part's interface for its routes, CLI and UI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fleetdeck.server.updates import policy as policies
from fleetdeck.wire.updates import (
    CheckResult,
    RegistryRequests,
    UpdateItem,
    UpdatePolicies,
    UpdatePolicyEntry,
    UpdatesList,
)

if TYPE_CHECKING:
    from fleetdeck.server.store.models_updates import UpdateStateRow
    from fleetdeck.server.updates.repository import UpdatesRepository
    from fleetdeck.server.updates.watcher import UpdateWatcher, Watched


def _item(w: Watched, row: UpdateStateRow | None) -> UpdateItem:
    if row is None:
        return UpdateItem(
            stack=w.stack, service=w.service, environment=w.environment, image=w.image,
            reference=w.ref.name, policy=w.policy, policy_source=w.source,  # type: ignore[arg-type]
            status="unknown", running_digest=w.running, message=w.problem or "not checked yet",
        )  # fmt: skip
    checked = row.checked_at
    if checked is not None and checked.tzinfo is None:
        checked = checked.replace(tzinfo=UTC)
    available = row.available_digest
    return UpdateItem(
        stack=w.stack, service=w.service, environment=w.environment, image=w.image,
        reference=w.ref.name, policy=w.policy, policy_source=w.source,  # type: ignore[arg-type]
        status=row.status, running_digest=w.running, available_digest=available,
        update_available=bool(available and w.running and available != w.running),
        failed_digests=list(row.failed_digests or []), message=w.problem or row.message,
        checked_at=checked,
    )  # fmt: skip


class UpdatesService:
    """Pending updates, checks on demand and policies.

    Args:
        watcher: The reconciler.
        repo: The image-update tables.
    """

    def __init__(self, watcher: UpdateWatcher, repo: UpdatesRepository) -> None:
        self.watcher = watcher
        self.repo = repo

    async def items(self) -> list[UpdateItem]:
        """Every watched service (policy not ``off``) and what its registry said last."""
        watched, _ = await self.watcher.watched()
        states = {(r.stack, r.service): r for r in await self.repo.states()}
        return [_item(w, states.get((w.stack, w.service))) for w in watched if w.policy != "off"]

    async def listing(self) -> UpdatesList:
        """``GET /updates``."""
        checker = self.watcher.checker
        registries = []
        for name in checker.registries():
            sent = checker.sent(name)
            until = checker.backoff(name)
            registries.append(
                RegistryRequests(
                    registry=name,
                    head=sent["head"],
                    token=sent["token"],
                    backoff_until=datetime.fromtimestamp(until, UTC) if until else None,
                )  # fmt: skip
            )
        return UpdatesList(
            items=await self.items(), registries=registries,
            last_round_at=self.watcher.last_round_at,
        )  # fmt: skip

    async def check(self) -> CheckResult:
        """Run a round now, asking every registry afresh (no cached answers)."""
        result = await self.watcher.round(fresh=True)
        return CheckResult(
            references=result.references, services=result.services,
            head_requests=result.head_requests, token_requests=result.token_requests,
            updated=result.updated, failed=result.failed, items=await self.items(),
        )  # fmt: skip

    async def policies(self) -> UpdatePolicies:
        """The effective default and the API's policies."""
        rows = await self.repo.policies()
        return UpdatePolicies(
            default=rows.get(policies.DEFAULT, policies.DEFAULT_POLICY),  # type: ignore[arg-type]
            items=[UpdatePolicyEntry(target=t, policy=p) for t, p in sorted(rows.items())],  # type: ignore[arg-type]
        )

    async def set_policy(self, target: str, policy: str, actor: str) -> UpdatePolicies:
        """Set the API's policy of ``target`` (checked before anything is written)."""
        target = policies.check_target(target)
        policy = policies.check_policy(policy)
        await self.repo.put_policy(target, policy, actor)
        return await self.policies()

    async def delete_policy(self, target: str) -> UpdatePolicies:
        """Remove the API's policy of ``target`` (the Compose file's or the default applies)."""
        await self.repo.delete_policy(policies.check_target(target))
        return await self.policies()
