"""``/registries``: credentials for private registries (password write-only, encrypted).

Thin handlers over :class:`~fleetdeck.server.registries.service.RegistryService`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from pydantic import Field

from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Admin, Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.context import context_of
from fleetdeck.server.registries.repository import RegistryRepository
from fleetdeck.server.registries.service import RegistryService
from fleetdeck.wire.admin import Registry
from fleetdeck.wire.base import RequestBody

if TYPE_CHECKING:
    from fastapi import FastAPI

    from fleetdeck.server.store.models import Registry as RegistryRow

router = APIRouter(tags=["registries"])


class RegistryCreate(RequestBody):
    """``POST /registries``."""

    name: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=1, max_length=512)
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, max_length=4096)


def service_of(app: FastAPI) -> RegistryService:
    """The registry service over the app's store and secret box."""
    context = context_of(app)
    return RegistryService(RegistryRepository(context.store), context.secrets)


def _out(row: RegistryRow) -> Registry:
    return Registry(name=row.name, url=row.url, username=row.username)


@router.get("/registries")
async def list_registries(request: Request, who: Viewer) -> list[Registry]:
    """Every configured registry (without passwords)."""
    return [_out(r) for r in await service_of(request.app).registries()]


@router.post("/registries", status_code=201)
async def add_registry(body: RegistryCreate, request: Request, who: Admin) -> Registry:
    """Add a registry; its password is encrypted with the master key before it is stored."""
    detail = {"url": body.url, "username": body.username}
    async with audited(request, who.username, "registry.create", body.name, detail):
        row = await service_of(request.app).create(
            body.name, body.url, body.username, body.password
        )
    return _out(row)


@router.delete("/registries/{name}")
async def remove_registry(name: str, request: Request, who: Admin) -> dict[str, bool]:
    """Forget a registry and its credentials."""
    async with audited(request, who.username, "registry.delete", name):
        await service_of(request.app).delete(name)
    return {"ok": True}
