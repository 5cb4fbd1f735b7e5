"""``/channels`` (Apprise URLs, admin), their test action, and ``/deliveries`` (history).

A channel's URL is checked by Apprise before it is stored, encrypted with the master key
(context ``channel:NAME``), and is write-only: every listing shows it masked wholly but for
its scheme and host (``json://host.example/***``, see :func:`~.channels.mask_url`), for
admins too. An admin who needs the stored URL asks for it explicitly with
``GET /channels/{name}/url``, which is audited (``channel.reveal``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request
from pydantic import Field

from fleetdeck.server.alerts.channels import mask_url
from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Admin, Operator, Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import context_of
from fleetdeck.server.store.models_alerts import AlertDelivery, NotificationChannel
from fleetdeck.wire.alerts import Channel, ChannelUrl, Delivery
from fleetdeck.wire.base import RequestBody

if TYPE_CHECKING:
    from fleetdeck.server.alerts.service_channels import ChannelService
    from fleetdeck.server.store.models_alerts import AlertDelivery, NotificationChannel

router = APIRouter(tags=["alerts"])
#: Longest the test action waits for its attempt before answering with the row as it is.
TEST_WAIT_MARGIN_S = 5.0


class ChannelCreate(RequestBody):
    """``POST /channels``."""

    name: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=1, max_length=4096)
    min_severity: str = "info"
    enabled: bool = True


class ChannelUpdate(RequestBody):
    """``PATCH /channels/{name}``."""

    url: str | None = Field(default=None, min_length=1, max_length=4096)
    min_severity: str | None = None
    enabled: bool | None = None


def channel_out(row: NotificationChannel) -> Channel:
    """The API view of a channel."""
    # Masked again on the way out: rows stored before masking hid only passwords.
    return Channel(name=row.name, kind=row.kind, url=mask_url(row.url_masked),
                      min_severity=row.min_severity, enabled=row.enabled,
                      created_at=row.created_at)  # fmt: skip


def delivery_out(row: AlertDelivery) -> Delivery:
    """The API view of a delivery."""
    return Delivery.model_validate(row, from_attributes=True)


def channels_of(request: Request) -> ChannelService:
    """The channels-and-deliveries service."""
    service: ChannelService = context_of(request).alerts.channels
    return service


@router.get("/channels")
async def list_channels(request: Request, who: Viewer) -> list[Channel]:
    """Every channel (URLs masked)."""
    return [channel_out(r) for r in await channels_of(request).channels()]


@router.get("/channels/{name}/url")
async def reveal_channel_url(name: str, request: Request, who: Admin) -> ChannelUrl:
    """The channel's full URL, secrets included (admins only; audited as ``channel.reveal``)."""
    async with audited(request, who.username, "channel.reveal", name):
        url = await channels_of(request).reveal(name)
    return ChannelUrl(name=name, url=url)


@router.post("/channels", status_code=201)
async def create_channel(body: ChannelCreate, request: Request, who: Admin) -> Channel:
    """Add a channel: the URL is checked by Apprise, then stored encrypted."""
    async with audited(request, who.username, "channel.create", body.name):
        row = await channels_of(request).create(
            body.name, body.url, body.min_severity, body.enabled
        )
    return channel_out(row)


@router.patch("/channels/{name}")
async def update_channel(name: str, body: ChannelUpdate, request: Request, who: Admin) -> Channel:
    """Change a channel's URL, minimum severity or whether it is used."""
    async with audited(request, who.username, "channel.update", name):
        row = await channels_of(request).update(name, body.url, body.min_severity, body.enabled)
    return channel_out(row)


@router.delete("/channels/{name}")
async def delete_channel(name: str, request: Request, who: Admin) -> dict[str, bool]:
    """Remove a channel (its delivery history stays until pruned)."""
    async with audited(request, who.username, "channel.delete", name):
        await channels_of(request).delete(name)
    return {"ok": True}


@router.post("/channels/{name}/test")
async def test_channel(name: str, request: Request, who: Operator) -> Delivery:
    """Send a test notification now and answer with how it went (sent or failed, and why)."""
    async with audited(request, who.username, "channel.test", name) as detail:
        wait = context_of(request).settings.alerts_delivery_timeout_s + TEST_WAIT_MARGIN_S
        row = await channels_of(request).test(name, wait)
        detail["status"] = row.status
    return delivery_out(row)


@router.get("/deliveries")
async def list_deliveries(
    request: Request,
    who: Viewer,
    channel: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Delivery]:
    """Delivery history, newest first."""
    rows = await channels_of(request).deliveries(channel, status, limit)
    return [delivery_out(r) for r in rows]
