"""Login throttling per username and client address, and per client address alone.

Two sliding one-minute windows: at most ``max_failures`` failed logins for one username from
one address (online guessing of one password), and at most ``max_per_address`` failed logins
from one address whatever the usernames (guessing across many accounts, or a stuffing list).
Past either, attempts are refused with 429 until the oldest counted failure is a minute old.

An attempt is counted *before* the password is checked (:meth:`LoginRateLimiter.attempt`
reserves its slot synchronously, with no await in between), and only a success gives the
slot back. Checking first and recording after the slow password hash let 60 concurrent wrong
passwords all through; reserving makes the limit exact however many arrive at once.

The address is the TCP peer as uvicorn reports it: ``X-Forwarded-For`` is believed only from
the proxies named in ``forwarded_allow_ips``. Behind a proxy that is not configured so, every
client shares the proxy's address and the per-address limit applies to them together.

Kept in memory: it protects one server process against online guessing, costs nothing per
request, and a restart only forgets at most a minute of history.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import TYPE_CHECKING, TypeVar

from fleetdeck.errors import RateLimitedError

if TYPE_CHECKING:
    from collections.abc import Callable

WINDOW_SECONDS = 60.0
DEFAULT_MAX_PER_ADDRESS = 20
_PRUNE_ABOVE = 10_000  # tracked keys before stale ones are swept

K = TypeVar("K")


class LoginAttempt:
    """One login attempt holding its reserved slot; it stays counted unless it succeeded."""

    def __init__(self, limiter: LoginRateLimiter, username: str, client_ip: str, at: float):
        self._limiter = limiter
        self._key = (username, client_ip)
        self._at = at

    def succeeded(self) -> None:
        """The password was right: forget this username+address's failures and this slot."""
        self._limiter._forget(self._key, self._at)


class LoginRateLimiter:
    """Counts failed logins per (username, client IP) and per client IP in a sliding window.

    Args:
        max_failures: Failures per username and address within the window.
        max_per_address: Failures per address, over all usernames, within the window.
        window: Window length in seconds.
        clock: Monotonic clock in seconds (tests pass a fake one).
    """

    def __init__(
        self,
        max_failures: int,
        max_per_address: int = DEFAULT_MAX_PER_ADDRESS,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_per_address = max_per_address
        self.window = window
        self._clock = clock
        self._per_user: dict[tuple[str, str], deque[float]] = {}
        self._per_address: dict[str, deque[float]] = {}

    def _recent(self, table: dict[K, deque[float]], key: K, now: float) -> deque[float]:
        failures = table.setdefault(key, deque())
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        return failures

    def _refuse(self, failures: deque[float], now: float, what: str) -> RateLimitedError:
        retry = max(1, math.ceil(self.window - (now - failures[0])))
        return RateLimitedError(
            f"too many failed logins {what}; try again in {retry} s", retry_after=retry
        )

    def attempt(self, username: str, client_ip: str) -> LoginAttempt:
        """Count an attempt now, or raise RateLimitedError if a limit is used up.

        Call it before checking the password and call :meth:`LoginAttempt.succeeded` when
        the password was right; a failed attempt needs nothing more.
        """
        now = self._clock()
        per_user = self._recent(self._per_user, (username, client_ip), now)
        per_address = self._recent(self._per_address, client_ip, now)
        if len(per_user) >= self.max_failures:
            raise self._refuse(per_user, now, f"for {username!r}")
        if len(per_address) >= self.max_per_address:
            raise self._refuse(per_address, now, f"from {client_ip}")
        per_user.append(now)
        per_address.append(now)
        self._prune(now)
        return LoginAttempt(self, username, client_ip, now)

    def _forget(self, key: tuple[str, str], at: float) -> None:
        self._per_user.pop(key, None)
        per_address = self._per_address.get(key[1])
        if per_address is not None and at in per_address:
            per_address.remove(at)

    def _prune(self, now: float) -> None:
        _sweep(self._per_user, now, self.window)
        _sweep(self._per_address, now, self.window)


def _sweep(table: dict[K, deque[float]], now: float, window: float) -> None:
    """Drop keys whose failures all aged out, once the table is large."""
    if len(table) > _PRUNE_ABOVE:
        for key in [
            k for k, failures in table.items() if not failures or now - failures[-1] >= window
        ]:
            del table[key]
