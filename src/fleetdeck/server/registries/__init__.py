"""Registries: credentials for private registries, handed to image pulls.

``api`` (the ``/registries`` routes), ``service`` (:class:`RegistryService`: names, hosts,
sealed passwords, the auth of a pull) and ``repository`` (the ``registries`` table).
:func:`registry_auth_for` is what the fleet part calls before an image pull (through
``ServerContext.registry_auth_for``) to get the credentials, if any, for the registry an image
reference names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.server.registries.api import router, service_of
from fleetdeck.server.registries.service import RegistryService, image_registry, registry_host

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "RegistryService",
    "image_registry",
    "registry_auth_for",
    "registry_auth_named",
    "registry_host",
    "router",
    "service_of",
]


async def registry_auth_for(app: FastAPI, image_ref: str) -> dict[str, str] | None:
    """Credentials for pulling ``image_ref`` (see :meth:`RegistryService.auth_for`)."""
    return await service_of(app).auth_for(image_ref)


async def registry_auth_named(app: FastAPI, name: str) -> dict[str, str] | None:
    """Credentials of the registry called ``name`` (see :meth:`RegistryService.auth_named`)."""
    return await service_of(app).auth_named(name)
