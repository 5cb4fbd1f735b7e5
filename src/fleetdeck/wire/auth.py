"""Who may do what: roles."""

from __future__ import annotations

from enum import StrEnum


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
