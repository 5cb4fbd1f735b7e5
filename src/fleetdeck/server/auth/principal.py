"""Who is making a request, as the routes see it."""

from __future__ import annotations

from dataclasses import dataclass

from fleetdeck.wire.auth import Role


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    Attributes:
        username: The user the credential belongs to (the audit log's actor).
        role: What the caller may do now: the user's role, or for an API token the lesser of
            the token's role and its user's current role.
        token_id: The API token used, or ``None`` for a login session.
    """

    username: str
    role: Role
    token_id: str | None = None

    @property
    def is_admin(self) -> bool:
        """Whether the caller may manage users and everyone's tokens."""
        return self.role.allows(Role.admin)
