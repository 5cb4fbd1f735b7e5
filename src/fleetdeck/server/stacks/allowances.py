"""Admins' allowances of dangerous hardening rules, per stack or per environment.

A :data:`~fleetdeck.server.stacks.hardening.DANGEROUS` finding (privileged, host
namespaces, bind mounts of ``/`` or of the Docker socket…) gives a container root on its
node, so it blocks a deploy by anyone but an admin. An admin may allow a rule for one stack
or for every stack of an environment (as Portainer lets admins restrict such settings per
environment); the allowance is stored here, audited by the route that sets it, and read at
every deploy of a non-admin, so removing it blocks the next one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.stacks.hardening import DANGEROUS
from fleetdeck.server.store.models_stacks import StackAllowance

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fleetdeck.server.store import Store


class Scope(StrEnum):
    """What an allowance covers."""

    stack = "stack"
    environment = "environment"


def check_rules(rules: Iterable[str]) -> list[str]:
    """Rules an admin may allow: the dangerous ones (the others never block a non-admin only).

    Raises:
        InvalidInputError: A rule that is not one of :data:`DANGEROUS`.
    """
    chosen = sorted(set(rules))
    unknown = [r for r in chosen if r not in DANGEROUS]
    if unknown:
        raise InvalidInputError(
            f"not a rule that can be allowed: {', '.join(unknown)}",
            hint=f"rules: {', '.join(DANGEROUS)}",
        )
    return chosen


class AllowanceRepository:
    """The ``stack_allowances`` rows."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def rules(self, scope: Scope, name: str) -> list[str]:
        """The rules allowed for one stack or environment, sorted."""
        async with self._store.session() as session:
            rows = await session.scalars(
                select(StackAllowance.rule).where(
                    StackAllowance.scope == scope.value, StackAllowance.name == name
                )
            )
            return sorted(rows)

    async def replace(self, scope: Scope, name: str, rules: list[str], actor: str) -> list[str]:
        """Make ``rules`` (checked) the allowed set of ``scope``/``name``; the new set."""
        chosen = check_rules(rules)
        async with self._store.session() as session:
            await session.execute(
                delete(StackAllowance).where(
                    StackAllowance.scope == scope.value, StackAllowance.name == name
                )
            )
            session.add_all(
                StackAllowance(scope=scope.value, name=name, rule=rule, actor=actor)
                for rule in chosen
            )
            await session.commit()
        return chosen

    async def allowed(self, stack: str, environment: str) -> set[str]:
        """The rules allowed for a deploy of ``stack`` to ``environment``."""
        return set(await self.rules(Scope.stack, stack)) | set(
            await self.rules(Scope.environment, environment)
        )

    async def refused(self, stack: str, environment: str, *, admin: bool) -> set[str]:
        """The dangerous rules that block this deploy: none for an admin."""
        if admin:
            return set()
        return set(DANGEROUS) - await self.allowed(stack, environment)
