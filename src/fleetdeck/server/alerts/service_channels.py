"""Notification channels (Apprise URLs) and their deliveries: the rules of a change.

A channel's URL is checked by Apprise before it is stored and sealed with the master key
(context ``channel:NAME``); only its masked rendering is ever listed. Opening the stored URL
(:meth:`ChannelService.reveal`) is for an admin who asked, and the route audits it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.errors import InvalidInputError, NotFoundError
from fleetdeck.server.alerts.channels import NAME_RE, check_url
from fleetdeck.server.alerts.repository import channel_taken
from fleetdeck.server.alerts.rules import SEVERITIES
from fleetdeck.server.store.models_alerts import NotificationChannel

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.server.alerts.repository import AlertRepository
    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.store.models_alerts import AlertDelivery


def check_severity(value: str) -> str:
    """``value`` if it is a severity; else InvalidInputError."""
    if value not in SEVERITIES:
        raise InvalidInputError(f"bad severity {value!r}", hint=f"one of {', '.join(SEVERITIES)}")
    return value


def _context(name: str) -> str:
    """What a channel's URL is sealed with (a copy under another name won't open)."""
    return f"channel:{name}"


class ChannelService:
    """Channels and deliveries over the store.

    Args:
        repo: The alerting tables.
        secrets: Seals and opens the URLs (None: a server without one, no channel changes).
        send_test: Queues a test notification and waits for its attempt (``send_test`` of
            :class:`~fleetdeck.server.alerts.service.AlertService`).
    """

    def __init__(
        self,
        repo: AlertRepository,
        secrets: SecretBox | None,
        send_test: Callable[[str, float], Awaitable[AlertDelivery | None]],
    ) -> None:
        self.repo = repo
        self._secrets = secrets
        self._send_test = send_test

    def _box(self) -> SecretBox:
        if self._secrets is None:
            raise RuntimeError("the alerting part was started without the server's secret box")
        return self._secrets

    async def channels(self) -> list[NotificationChannel]:
        """Every channel, by name."""
        return await self.repo.channels()

    async def reveal(self, name: str) -> str:
        """The channel's stored URL in clear, secrets included."""
        row = await self.repo.channel(name)
        return self._box().open(row.url_encrypted, _context(name))

    async def create(
        self, name: str, url: str, min_severity: str, enabled: bool
    ) -> NotificationChannel:
        """Add a channel: the URL is checked by Apprise, then stored sealed."""
        if not NAME_RE.match(name):
            raise InvalidInputError(
                f"invalid channel name {name!r}", hint="lower-case letters, digits, _ . -"
            )
        kind, masked = check_url(url)
        sealed = self._box().seal(url.strip(), _context(name))
        if await self.repo.channel_exists(name):  # told before a bad severity, as always
            raise channel_taken(name)
        row = NotificationChannel(
            name=name, kind=kind, url_encrypted=sealed, url_masked=masked,
            min_severity=check_severity(min_severity), enabled=enabled,
        )  # fmt: skip
        return await self.repo.add_channel(row)

    async def update(
        self, name: str, url: str | None, min_severity: str | None, enabled: bool | None
    ) -> NotificationChannel:
        """Change a channel's URL, minimum severity or whether it is used."""
        checked = check_url(url) if url is not None else None
        await self.repo.channel(name)  # NotFoundError before a bad severity, as it always was
        values: dict[str, object] = {}
        if checked is not None and url is not None:
            values["kind"], values["url_masked"] = checked
            values["url_encrypted"] = self._box().seal(url.strip(), _context(name))
        if min_severity is not None:
            values["min_severity"] = check_severity(min_severity)
        if enabled is not None:
            values["enabled"] = enabled
        return await self.repo.update_channel(name, **values)

    async def delete(self, name: str) -> None:
        """Remove a channel (its delivery history stays until pruned)."""
        await self.repo.delete_channel(name)

    async def test(self, name: str, wait_s: float) -> AlertDelivery:
        """Send a test notification now and wait up to ``wait_s`` for how it went."""
        await self.repo.channel(name)
        row = await self._send_test(name, wait_s)
        if row is None:  # the channel was deleted meanwhile
            raise NotFoundError(f"no channel {name!r}")
        return row

    async def deliveries(
        self, channel: str | None, status: str | None, limit: int
    ) -> list[AlertDelivery]:
        """Delivery history, newest first."""
        return await self.repo.deliveries(channel, status, limit)
