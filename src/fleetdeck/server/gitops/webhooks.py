"""Verifying a webhook delivery, and remembering which deliveries were seen.

A repository's webhook URL is public (no session), so the sender proves it holds the
repository's webhook secret, in whichever way its forge signs:

- GitHub: ``X-Hub-Signature-256: sha256=HEX``, HMAC-SHA256 of the body;
- Gitea / Forgejo: ``X-Gitea-Signature`` (or ``X-Forgejo-Signature``): HEX, the same HMAC;
- GitLab: ``X-Gitlab-Token``: the secret itself;
- anything else: ``X-Fleetdeck-Signature: sha256=HEX``, the same HMAC.

Comparisons are constant-time. The body is capped before it is read for verification (the
route's limit). A delivery id (``X-GitHub-Delivery``, ``X-Gitea-Delivery``,
``X-Gitlab-Event-UUID``, ``X-Fleetdeck-Delivery``) seen before is a replay: accepted (so the
forge does not retry) but not acted on.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from typing import TYPE_CHECKING

from fleetdeck.errors import UnauthenticatedError

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Largest webhook body read (GitHub's own cap is 25 MB; a push event is a few KiB).
MAX_WEBHOOK_BYTES = 1024 * 1024
#: How many delivery ids are remembered per server (oldest forgotten first).
SEEN_DELIVERIES = 4096
_DELIVERY_HEADERS = ("x-github-delivery", "x-gitea-delivery", "x-forgejo-delivery",
                     "x-gitlab-event-uuid", "x-fleetdeck-delivery")  # fmt: skip


def signature(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``body`` with ``secret`` (what senders put in their header)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes) -> str:
    """Which scheme signed this delivery (``github``, ``gitea``, ``gitlab``, ``generic``).

    Raises:
        UnauthenticatedError: No signature header, or one that does not match (401).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    expected = signature(secret, body)
    for header, scheme, prefix in (
        ("x-hub-signature-256", "github", "sha256="),
        ("x-fleetdeck-signature", "generic", "sha256="),
        ("x-gitea-signature", "gitea", ""),
        ("x-forgejo-signature", "gitea", ""),
    ):
        if header in lower:
            given = lower[header].strip()
            if given.startswith(prefix) and hmac.compare_digest(
                given[len(prefix) :].lower().encode(), expected.encode()
            ):
                return scheme
            raise UnauthenticatedError(f"the webhook's {header} signature does not match")
    if "x-gitlab-token" in lower:
        if hmac.compare_digest(lower["x-gitlab-token"].encode(), secret.encode()):
            return "gitlab"
        raise UnauthenticatedError("the webhook's X-Gitlab-Token does not match")
    raise UnauthenticatedError(
        "the webhook is not signed",
        hint="set the repository's webhook secret in the forge (fleetdeck repos webhook NAME)",
    )


def delivery_id(headers: Mapping[str, str]) -> str | None:
    """The sender's id of this delivery, if it gives one (at most 200 characters)."""
    lower = {k.lower(): v for k, v in headers.items()}
    for header in _DELIVERY_HEADERS:
        if lower.get(header):
            return lower[header][:200]
    return None


class SeenDeliveries:
    """The last :data:`SEEN_DELIVERIES` delivery ids per repository (replays are dropped)."""

    def __init__(self, size: int = SEEN_DELIVERIES) -> None:
        self.size = size
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def first_time(self, repo: str, delivery: str | None) -> bool:
        """Record ``delivery``; False when it was seen before (no id: always the first time)."""
        if delivery is None:
            return True
        key = (repo, delivery)
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True
