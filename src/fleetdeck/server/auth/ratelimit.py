"""Login throttling per username and client IP.

After N failures for one username from one client IP within a minute, further attempts are
refused with 429 until the oldest failure is a minute old.

Kept in memory: it protects one server process against online guessing, costs nothing per
request, and a restart only forgets at most a minute of history.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import TYPE_CHECKING

from fleetdeck.errors import RateLimitedError

if TYPE_CHECKING:
    from collections.abc import Callable

WINDOW_SECONDS = 60.0
_PRUNE_ABOVE = 10_000  # tracked keys before stale ones are swept


class LoginRateLimiter:
    """Counts failed logins per (username, client IP) in a sliding window.

    Args:
        max_failures: Failures allowed within the window before attempts are refused.
        window: Window length in seconds.
        clock: Monotonic clock (tests pass a fake one).
    """

    def __init__(
        self,
        max_failures: int,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        now = self._clock()
        failures = self._failures.get(key, deque())
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        return failures

    def check(self, username: str, client_ip: str) -> None:
        """Raise RateLimitedError if this username+IP has used up its attempts."""
        failures = self._recent((username, client_ip))
        if len(failures) >= self.max_failures:
            retry = max(1, math.ceil(self.window - (self._clock() - failures[0])))
            raise RateLimitedError(
                f"too many failed logins for {username!r}; try again in {retry} s",
                retry_after=retry,
            )

    def failure(self, username: str, client_ip: str) -> None:
        """Count one failed attempt."""
        key = (username, client_ip)
        failures = self._recent(key)
        failures.append(self._clock())
        self._failures[key] = failures
        if len(self._failures) > _PRUNE_ABOVE:
            for stale in [k for k in self._failures if not self._recent(k)]:
                del self._failures[stale]

    def success(self, username: str, client_ip: str) -> None:
        """Forget the failures of a username+IP that just logged in."""
        self._failures.pop((username, client_ip), None)
