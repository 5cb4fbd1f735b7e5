"""Registries: the password is write-only, encrypted at rest, and handed to image pulls."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from fleetdeck.server.context import context_of
from fleetdeck.server.registries import image_registry, registry_auth_for

from .conftest import add_user, bearer

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from fleetdeck.server.config import ServerSettings

PASSWORD = "s3cret-registry-pw"  # noqa: S105 - test data


async def test_the_password_is_never_returned_and_is_stored_encrypted(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, settings: ServerSettings
) -> None:
    body = {"name": "lab", "url": "http://10.213.0.1:5000", "username": "ci", "password": PASSWORD}
    created = await client.post("/api/v1/registries", json=body, headers=bearer(admin_token))
    assert created.status_code == 201, created.text
    assert created.json() == {"name": "lab", "url": "http://10.213.0.1:5000", "username": "ci"}
    viewer = await add_user(client, admin_token, "vera", "viewer")
    listed = await client.get("/api/v1/registries", headers=bearer(viewer))
    assert listed.json() == [created.json()]
    audit = await client.get("/api/v1/audit", headers=bearer(admin_token))
    for text in (created.text, listed.text, audit.text):
        assert PASSWORD not in text
    with sqlite3.connect(settings.data_dir / "fleetdeck.db") as conn:
        (stored,) = conn.execute("SELECT password_encrypted FROM registries").fetchone()
        dump = "\n".join(conn.iterdump())
    conn.close()
    assert PASSWORD.encode() not in stored and PASSWORD not in dump
    assert context_of(app).secrets.open(stored, "registry:lab") == PASSWORD
    duplicate = await client.post("/api/v1/registries", json=body, headers=bearer(admin_token))
    assert duplicate.status_code == 409


async def test_pull_credentials_match_the_image_s_registry(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    body = {"name": "lab", "url": "10.213.0.1:5000", "username": "ci", "password": PASSWORD}
    await client.post("/api/v1/registries", json=body, headers=bearer(admin_token))
    expected = {"username": "ci", "password": PASSWORD, "serveraddress": "10.213.0.1:5000"}
    assert await registry_auth_for(app, "10.213.0.1:5000/fleetdeck/web:1") == expected
    assert await context_of(app).registry_auth_for("10.213.0.1:5000/x") == expected
    assert await registry_auth_for(app, "busybox:latest") is None
    assert await registry_auth_for(app, "other.example/x:1") is None
    removed = await client.delete("/api/v1/registries/lab", headers=bearer(admin_token))
    assert removed.json() == {"ok": True}
    assert await registry_auth_for(app, "10.213.0.1:5000/fleetdeck/web:1") is None
    missing = await client.delete("/api/v1/registries/lab", headers=bearer(admin_token))
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("ref", "registry"),
    [
        ("busybox", "docker.io"),
        ("library/busybox:1", "docker.io"),
        ("localhost/x", "localhost"),
        ("localhost:5000/x", "localhost:5000"),
        ("ghcr.io/org/app@sha256:abc", "ghcr.io"),
        ("Reg.Example:443/a/b:c", "reg.example:443"),
    ],
)
def test_an_image_reference_names_its_registry_as_docker_does(ref: str, registry: str) -> None:
    assert image_registry(ref) == registry
