"""Who may do what: roles, users, sessions and API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class Role(StrEnum):
    """What a user or token may do: viewer reads, operator operates, admin manages."""

    viewer = "viewer"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        """Order of privilege: viewer < operator < admin."""
        return {"viewer": 0, "operator": 1, "admin": 2}[self.value]

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        return self.rank >= needed.rank


# ------------------------------------------------------------ users, sessions, tokens (API)
# The defaults are for the client: a reply from an older server without a newer key parses.


class User(BaseModel):
    """A person who may log in, as the API serves them (never with a password hash)."""

    username: str
    role: Role
    created_at: datetime | None = None
    disabled: bool = False


class Me(User):
    """``GET /auth/me``: the caller's account, with the role in force and the API token used."""

    token_id: str | None = None


class LoginResult(BaseModel):
    """``POST /auth/login``: a session token (also set as the ``fleetdeck_session`` cookie)."""

    token: str
    user: User
    expires_at: datetime | None = None


class ApiToken(BaseModel):
    """A long-lived API token as listed (its secret is only in :class:`CreatedToken`, once)."""

    id: str
    name: str
    role: Role
    #: Its owner's username.
    user: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked: bool = False
    #: The token this one was made with: it is revoked with it and never outlives it (None: a
    #: root token).
    parent_id: str | None = None


class CreatedToken(ApiToken):
    """``POST /tokens``: the token record and its secret, shown this one time."""

    token: str
