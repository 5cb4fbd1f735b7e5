"""Binary-safe stack files through the API, the real SQLite store and the build-context tar.

The engine side is a fake applier (the agent boundary): it records the build context the
host applier sends (tarred from the stack's own file set), so every step from request to
tar is the real code.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import tarfile
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from fleetdeck.client.stack_files import file_bytes, stack_file
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.context import context_of
from fleetdeck.server.stacks import files as stack_files
from fleetdeck.server.stacks.files import MAX_FILE_BYTES, StackFile, check_files
from fleetdeck.server.stacks.plan import DeployOutcome, Plan
from fleetdeck.server.store.models_stacks import StackBlob

from .conftest import bearer

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from fleetdeck.compose import Project
    from fleetdeck.server.stacks.plan import DeployTarget

COMPOSE = "services:\n  app:\n    build: ./ctx\n    image: 127.0.0.1:5000/app:1\n"
ALL_BYTES = bytes(range(256))
LATIN1 = "café crème\n".encode("latin-1")
GZIP = gzip.compress(b"hello " * 1000, mtime=0)


class _FakeApplier:
    """Plans nothing; on apply, records the stack and its build context tar's members."""

    def __init__(self) -> None:
        self.contexts: list[dict[str, bytes]] = []
        self.dockerfiles: list[str | None] = []
        self.applied: list[str] = []
        self.removed: list[str] = []

    async def plan(self, project: Project, target: DeployTarget) -> Plan:
        return Plan(stack=target.stack, environment=target.environment)

    async def apply(self, project: Project, plan: Plan, target: DeployTarget, **_: Any) -> Any:
        self.applied.append(target.stack)
        build = project.services["app"].build
        if build is None:
            return DeployOutcome(True, "converged")
        assert target.files is not None
        context, dockerfile = target.files.context_tar(build, "service 'app'")
        self.dockerfiles.append(dockerfile)
        tar = tarfile.open(fileobj=io.BytesIO(context))
        members = {}
        for member in tar.getmembers():
            extracted = tar.extractfile(member) if member.isfile() else None
            if extracted is not None:
                members[member.name.removeprefix("./")] = extracted.read()
        self.contexts.append(members)
        return DeployOutcome(True, "converged")

    async def remove(self, stack: str, target: DeployTarget, **_: Any) -> None:
        self.removed.append(stack)


@pytest.fixture
async def fake(app: FastAPI, client: httpx.AsyncClient, admin_token: str) -> _FakeApplier:
    created = await client.post(
        "/api/v1/environments", json={"name": "lab"}, headers=bearer(admin_token)
    )
    assert created.status_code == 201, created.text
    applier = _FakeApplier()
    context_of(app).stacks.host = applier  # type: ignore[assignment]  # a fake applier
    return applier


def _files(extra: bytes = b"") -> list[dict[str, str]]:
    return [
        stack_file("compose.yaml", COMPOSE.encode()),
        stack_file("ctx/Dockerfile", b"FROM scratch\nCOPY . /\n"),
        stack_file("ctx/all.bin", ALL_BYTES),
        stack_file("ctx/latin1.txt", LATIN1 + extra),
        stack_file("ctx/data.gz", GZIP),
    ]


async def _deploy(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/stacks/shop/deploy", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    events = [json.loads(line) for line in response.text.splitlines()]
    assert events[-1]["type"] == "result" and events[-1]["ok"], events[-1]
    return dict(events[-1])


async def _blob_count(app: FastAPI) -> int:
    async with context_of(app).store.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(StackBlob).where(StackBlob.stack == "shop")
        )
    return int(count or 0)


def _by_name(files: list[dict[str, str]]) -> dict[str, bytes]:
    return {f["name"]: file_bytes(f) for f in files}


async def test_binary_files_round_trip_byte_for_byte(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, fake: _FakeApplier
) -> None:
    auth = bearer(admin_token)
    files = _files()
    assert "content" in files[0] and "content_base64" in files[2] and "content_base64" in files[3]
    saved = await client.put(
        "/api/v1/stacks/shop", json={"environment": "lab", "files": files}, headers=auth
    )
    assert saved.status_code == 200, saved.text
    served = saved.json()["files"]
    assert _by_name(served) == _by_name(files)
    assert served[0]["content"] == COMPOSE  # UTF-8 text stays {name, content}
    assert served[2]["size"] == 256 and "content" not in served[2]

    await _deploy(client, admin_token, {"environment": "lab", "files": files})
    await _deploy(client, admin_token, {})  # the stored files, again
    assert fake.contexts[0] == fake.contexts[1] == {
        "Dockerfile": b"FROM scratch\nCOPY . /\n", "all.bin": ALL_BYTES,
        "latin1.txt": LATIN1, "data.gz": GZIP,
    }  # fmt: skip
    assert await _blob_count(app) == 5  # two revisions and the definition share them

    await _deploy(client, admin_token, {"environment": "lab", "files": _files(b"\xff")})
    assert fake.contexts[2]["latin1.txt"] == LATIN1 + b"\xff"
    assert await _blob_count(app) == 6  # only the changed file is stored again

    first = await client.get("/api/v1/stacks/shop/revisions/1", headers=auth)
    assert first.status_code == 200 and _by_name(first.json()["files"]) == _by_name(files)
    back = await client.post("/api/v1/stacks/shop/rollback", json={"revision": 1}, headers=auth)
    assert back.status_code == 200, back.text
    assert fake.contexts[3] == fake.contexts[0]
    detail = await client.get("/api/v1/stacks/shop", headers=auth)
    assert _by_name(detail.json()["files"]) == _by_name(files)

    removed = await client.delete("/api/v1/stacks/shop", headers=auth)
    assert removed.status_code == 200 and fake.removed == ["shop"]
    assert await _blob_count(app) == 0


async def test_text_content_keeps_working_as_before(
    client: httpx.AsyncClient, admin_token: str, fake: _FakeApplier
) -> None:
    body = {
        "environment": "lab",
        "files": [{"name": "compose.yaml", "content": COMPOSE},
                  {"name": "ctx/Dockerfile", "content": "FROM scratch\n"}],
    }  # fmt: skip
    await _deploy(client, admin_token, body)
    assert fake.contexts == [{"Dockerfile": b"FROM scratch\n"}]
    detail = await client.get("/api/v1/stacks/shop", headers=bearer(admin_token))
    assert detail.json()["files"][0]["content"] == COMPOSE


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([stack_file("compose.yaml", b"services:\n  a: {image: \xff}\n")],
         "Compose file 'compose.yaml' is not UTF-8 text"),
        ([stack_file("compose.yaml", b"services:\n  app:\n    image: x:1\n    env_file: app.env\n"),
          stack_file("app.env", b"A=\xe9\n")],
         "env file app.env is not UTF-8 text"),
        ([{"name": "compose.yaml"}], "give exactly one of 'content'"),
        ([{"name": "compose.yaml", "content": COMPOSE, "content_base64": ""}],
         "give exactly one of 'content'"),
        ([{"name": "compose.yaml", "content_base64": "not base64!"}],
         "'content_base64' is not valid base64"),
        ([stack_file("compose.yaml", COMPOSE.encode()),
          stack_file("ctx/huge.bin", b"\xff" * (MAX_FILE_BYTES + 1))],
         f"file 'ctx/huge.bin' is {MAX_FILE_BYTES + 1} bytes, over the {MAX_FILE_BYTES}"),
    ],
)  # fmt: skip
async def test_bad_files_are_refused_naming_them(
    client: httpx.AsyncClient,
    admin_token: str,
    fake: _FakeApplier,
    files: list[dict[str, str]],
    message: str,
) -> None:
    for method, path in (("PUT", "/api/v1/stacks/shop"), ("POST", "/api/v1/stacks/shop/deploy")):
        body = {"environment": "lab", "files": files}
        response = await client.request(method, path, json=body, headers=bearer(admin_token))
        assert response.status_code == 422, response.text
        assert message in response.json()["message"]
    assert fake.contexts == []


def test_the_total_size_of_a_stack_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack_files, "MAX_STACK_BYTES", 1000)
    check_files([StackFile("compose.yaml", b"x" * 500), StackFile("a.bin", b"y" * 500)])
    with pytest.raises(InvalidInputError, match="files total 1001 bytes, over the 1000 bytes"):
        check_files([StackFile("compose.yaml", b"x" * 500), StackFile("a.bin", b"y" * 501)])


def test_wire_entries_encode_only_what_is_not_utf8() -> None:
    assert stack_file("a.txt", "é".encode()) == {"name": "a.txt", "content": "é"}
    entry = stack_file("a.bin", b"\x00\xff")
    assert entry == {"name": "a.bin", "content_base64": base64.b64encode(b"\x00\xff").decode()}
    served = stack_files.to_wire(StackFile("a.bin", b"\x00\xff"))
    assert file_bytes(served) == b"\x00\xff" and served["size"] == 2  # type: ignore[arg-type]
