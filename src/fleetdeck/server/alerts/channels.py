"""Notification channels: Apprise URLs (checked, masked) and the notifier that sends.

A channel is one Apprise URL: ``slack://…``, ``discord://…``, ``ntfy://…``, ``mailto://…``,
``gotify://…``, ``tgram://…``, ``json://host/path`` (generic webhook) and the other
services Apprise knows. The URL carries the secrets (tokens, passwords, but also header and
payload parameters such as ``+Authorization=…`` and ``:apikey=…``, and in many services the
"host" part itself), so it is encrypted at rest and shown only as :func:`mask_url` renders
it: the scheme and, when it is a real host name or address, the host (``json://host.example/***``).

:class:`Notifier` is the boundary the delivery worker sends through; :class:`AppriseNotifier`
runs Apprise (which is blocking) on a thread pool of its own under a timeout, so a channel
that hangs costs a thread for a while, never the event loop or another channel.
"""

from __future__ import annotations

import asyncio
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import apprise

with warnings.catch_warnings():
    # Apprise's PGP helpers import the standard library's deprecated ``imghdr`` when a
    # plugin first needs them; load them once here, quietly, rather than mid-request.
    warnings.simplefilter("ignore", DeprecationWarning)
    import apprise.utils.pgp  # noqa: F401

from fleetdeck.errors import FleetdeckError, InvalidInputError

if TYPE_CHECKING:
    from fleetdeck.server.alerts.state import Event

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
#: What stands for everything of a channel URL but its scheme and host.
HIDDEN = "***"
_DNS_NAME = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$")
_IP_LIKE = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])$")
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,31}://[^\s'\"<>]+")
#: Threads sending notifications at most (a hung send keeps its thread until Apprise's own
#: socket timeouts end it).
SEND_THREADS = 8


class DeliveryError(FleetdeckError):
    """A notification could not be delivered (the message says what the service answered)."""

    http_status = 502
    kind = "delivery_failed"


def check_url(url: str) -> tuple[str, str]:
    """Validate an Apprise URL; return (its scheme, its masked rendering).

    Raises:
        InvalidInputError: Apprise does not know the service or cannot parse the URL.
    """
    text = url.strip()
    if "://" not in text:
        raise InvalidInputError(
            f"not a notification URL: {mask_text(text)!r}",
            hint="use an Apprise URL, e.g. json://host:port/path, mailto://…, ntfy://topic",
        )
    plugin = apprise.Apprise.instantiate(text)
    if plugin is None:
        scheme = text.split("://", 1)[0]
        raise InvalidInputError(
            f"Apprise cannot use this {scheme}:// URL (unknown service or missing parts)",
            hint="see https://github.com/caronc/apprise/wiki for each service's URL",
        )
    return text.split("://", 1)[0].lower(), mask_url(text)


def mask_text(url: str) -> str:
    """A URL with anything after the scheme hidden (for error messages about bad URLs)."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://****" if sep else "****"


def mask_url(url: str) -> str:
    """``json://host.example/***``: a channel URL with all but its scheme and host hidden.

    The host is kept only when it is a DNS name with a dot, an IP address or ``localhost``:
    in many Apprise URLs that part is a token (``slack://T000…``, ``discord://ID/…``,
    ``ntfy://TOPIC``), so anything else is hidden too (``slack://***``). User names,
    passwords, ports, paths and parameters never show. Masking a masked URL changes nothing.
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return HIDDEN
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = netloc.rpartition("@")[2]
    if not host.startswith("["):
        host = host.partition(":")[0]
    elif "]" in host:
        host = host[: host.index("]") + 1]
    if host.lower() == "localhost" or _DNS_NAME.match(host) or _IP_LIKE.match(host):
        return f"{scheme.lower()}://{host}/{HIDDEN}"
    return f"{scheme.lower()}://{HIDDEN}"


def scrub_urls(text: str) -> str:
    """``text`` (e.g. what Apprise logged about a failed send) with every URL masked."""
    return _URL_IN_TEXT.sub(lambda match: mask_url(match.group(0)), text)


class Notifier(Protocol):
    """Sends one notification to one channel URL."""

    async def send(self, url: str, title: str, body: str, event: Event, severity: str,
                   timeout: float) -> None:  # fmt: skip
        """Deliver, or raise :class:`DeliveryError` saying why not (also on timeout)."""


_TYPES = {"info": apprise.NotifyType.INFO, "warning": apprise.NotifyType.WARNING,
          "critical": apprise.NotifyType.FAILURE}  # fmt: skip


def _notify(url: str, title: str, body: str, notify_type: Any) -> str | None:
    """Blocking Apprise call; None on success, else what Apprise logged last."""
    sender = apprise.Apprise()
    if not sender.add(url):
        return "Apprise refused the URL"
    problems: list[str] = []

    def collect(entry: Any, _plugin: Any) -> None:
        if getattr(entry, "level", "") in ("WARNING", "ERROR", "CRITICAL"):
            problems.append(str(getattr(entry, "message", entry)))

    result = sender.notify(body, title=title, notify_type=notify_type, log_callback=collect)
    if result:
        return None
    return problems[-1] if problems else "the service did not accept the notification"


class AppriseNotifier:
    """Sends through Apprise on a private thread pool, under a timeout."""

    def __init__(self, threads: int = SEND_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="notify")

    async def send(self, url: str, title: str, body: str, event: Event, severity: str,
                   timeout: float) -> None:  # fmt: skip
        """Deliver one notification (see :class:`Notifier`)."""
        from fleetdeck.server.alerts.state import Event

        kind = apprise.NotifyType.SUCCESS if event == Event.resolved else _TYPES.get(severity)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, _notify, url, title, body, kind)
        try:
            problem = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise DeliveryError(f"no answer within {timeout:g}s") from None
        if problem is not None:
            raise DeliveryError(problem)

    def close(self) -> None:
        """Stop taking work (threads still sending finish on their own)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
