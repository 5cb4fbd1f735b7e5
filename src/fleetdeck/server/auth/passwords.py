"""Password hashing with Argon2id (argon2-cffi's defaults, the RFC 9106 low-memory profile).

Hashing costs tens of milliseconds of CPU on purpose, so the async helpers run it in a worker
thread and the event loop keeps serving while someone logs in.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
#: Verified against when the username does not exist, so a wrong username costs as much time
#: as a wrong password and response times do not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("fleetdeck-no-such-user")


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (salted; encodes its own parameters)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; ``None`` (no such user) burns the same time and fails."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    """:func:`hash_password` off the event loop."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """:func:`verify_password` off the event loop."""
    return await asyncio.to_thread(verify_password, password_hash, password)
