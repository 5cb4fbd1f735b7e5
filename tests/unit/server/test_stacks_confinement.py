"""Every path a stack's Compose files name is one of the stack's own files, never the server's.

Issue #11: an operator tarred the server's data dir through ``build: {context: ../..}``, a
viewer read ``/proc/self/environ`` and the admin password through ``env_file``, and errors
echoed file contents or told missing files from existing ones. These tests aim variants of
each at the real API, store and loader, with the server's own secrets in its data dir, and
check that the answer is the same "not one of the stack's files" refusal, with nothing of
any file in it and nothing built.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.client.stack_files import stack_file
from fleetdeck.server.context import context_of

from .conftest import ADMIN_PASSWORD, add_user, bearer
from .test_stacks_files_api import _FakeApplier, fake

if TYPE_CHECKING:
    from pathlib import Path

    import httpx
    from fastapi import FastAPI

__all__ = ["fake"]

NOT_OURS = "is not one of the stack's files"


def _compose(service: dict[str, Any], **top: Any) -> dict[str, str]:
    data = {"services": {"app": {"image": "127.0.0.1:5000/app:1", **service}}, **top}
    return stack_file("compose.yaml", json.dumps(data).encode())


def _secrets(app: FastAPI) -> list[str]:
    """What must never reach a response: the server's own secrets and files, as text."""
    data_dir: Path = context_of(app).stacks.data_dir
    found = [ADMIN_PASSWORD, "BEGIN", "PRIVATE KEY", "root:", "PATH="]
    master = data_dir / "master.key"
    if master.exists():
        found.append(master.read_bytes().decode(errors="replace").strip())
    return found


async def _refused(
    client: httpx.AsyncClient, token: str, method: str, path: str, body: dict[str, Any]
) -> str:
    response = await client.request(method, path, json=body, headers=bearer(token))
    if path.endswith("/validate"):
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["ok"] is False, result
        return str(result["errors"][0]["message"])
    assert response.status_code == 422, response.text
    return str(response.json()["message"])


def _leaks(app: FastAPI, text: str) -> list[str]:
    return [s for s in _secrets(app) if s and s in text]


def _build_variants(data: str) -> list[dict[str, Any]]:
    """Build sections that name something outside the stack: context and Dockerfile."""
    return [
        {"build": {"context": "../..", "dockerfile": "stacks/loot/Dockerfile"}},
        {"build": "../.."},
        {"build": "/"},
        {"build": {"context": data}},
        {"build": {"context": "./ctx/../../.."}},
        {"build": {"context": "~"}},
        {"build": {"context": "./ctx", "dockerfile": "../../../ca/ca.key"}},
        {"build": {"context": "./ctx", "dockerfile": f"{data}/stacks/loot/Dockerfile"}},
        {"build": {"context": "./ctx", "dockerfile": "/etc/passwd"}},
        {"build": {"context": "./ctx", "dockerfile": "../compose.yaml"}},  # in the stack, not ctx
        {"build": {"context": "./missing"}},
        {"build": "https://example.invalid/repo.git"},
    ]


def _env_variants(data: str) -> list[str]:
    return [
        "/proc/self/environ",
        f"{data}/admin-password",
        f"{data}/master.key",
        f"{data}/ca/ca.key",
        "../../ca/ca.key",
        "../../../../../../../proc/self/environ",
        "/etc/passwd",
        "/etc/shadow",
        "/no/such/file.env",
        "missing.env",
        "ctx",  # a directory of the stack, not a file
    ]


@pytest.fixture
async def operator(client: httpx.AsyncClient, admin_token: str) -> str:
    return await add_user(client, admin_token, "olivia", "operator")


@pytest.fixture
async def viewer(client: httpx.AsyncClient, admin_token: str) -> str:
    return await add_user(client, admin_token, "victor", "viewer")


def _plant(app: FastAPI) -> str:
    """The loot stack dir and admin-password file of the exploit, in the server's data dir."""
    data = context_of(app).stacks.data_dir
    (data / "admin-password").write_text(ADMIN_PASSWORD)
    loot = data / "stacks" / "loot"
    loot.mkdir(parents=True, exist_ok=True)
    (loot / "Dockerfile").write_text(
        "FROM scratch\nCOPY ca/ca.key master.key admin-password /loot/\n"
    )
    return str(data)


async def test_build_contexts_and_dockerfiles_outside_the_stack_are_refused_and_nothing_is_built(
    app: FastAPI, client: httpx.AsyncClient, operator: str, fake: _FakeApplier
) -> None:
    data = _plant(app)
    ctx = stack_file("ctx/Dockerfile", b"FROM scratch\n")
    for service in _build_variants(data):
        body = {"environment": "lab", "files": [_compose(service), ctx]}
        for method, path in (
            ("POST", "/api/v1/stacks/loot/deploy"),
            ("POST", "/api/v1/stacks/loot/diff"),
            ("PUT", "/api/v1/stacks/loot"),
            ("POST", "/api/v1/stacks/validate"),
        ):
            message = await _refused(client, operator, method, path, body)
            assert "build context" in message or "Dockerfile" in message, (service, message)
            assert "not one of the stack's" in message, (service, message)
            assert not _leaks(app, message), (service, message)
    assert fake.contexts == []
    listed = await client.get("/api/v1/stacks/loot", headers=bearer(operator))
    assert listed.status_code == 404  # nothing was stored


async def test_a_build_inside_the_stack_still_tars_only_the_stack_files(
    app: FastAPI, client: httpx.AsyncClient, operator: str, fake: _FakeApplier
) -> None:
    _plant(app)
    files = [
        _compose({"build": {"context": "./ctx/..", "dockerfile": "ctx/Dockerfile"}}),
        stack_file("ctx/Dockerfile", b"FROM scratch\n"),
    ]
    response = await client.post(
        "/api/v1/stacks/shop/deploy",
        json={"environment": "lab", "files": files},
        headers=bearer(operator),
    )
    assert response.status_code == 200, response.text
    assert fake.contexts == [{"compose.yaml": files[0]["content"].encode(),
                              "ctx/Dockerfile": b"FROM scratch\n"}]  # fmt: skip
    assert fake.dockerfiles == ["ctx/Dockerfile"]


@pytest.mark.parametrize("required", [True, False])
async def test_env_files_outside_the_stack_get_one_answer_and_echo_nothing(
    app: FastAPI, client: httpx.AsyncClient, viewer: str, fake: _FakeApplier, required: bool
) -> None:
    data = _plant(app)
    answers: set[str] = set()
    for env_file in _env_variants(data):
        service = {"env_file": [{"path": env_file, "required": required}]}
        body = {"environment": "lab", "files": [_compose(service), stack_file("ctx/a", b"x")]}
        if not required:
            # An optional file that is not the stack's is skipped: nothing read, nothing shown.
            response = await client.post(
                "/api/v1/stacks/validate", json=body, headers=bearer(viewer)
            )
            result = response.json()
            assert result["ok"], result
            assert result["project"]["services"]["app"].get("environment") is None
            assert not _leaks(app, response.text), env_file
            continue
        for method, path in (
            ("POST", "/api/v1/stacks/validate"),
            ("POST", "/api/v1/stacks/shop/diff"),
        ):
            message = await _refused(client, viewer, method, path, body)
            assert NOT_OURS in message, (env_file, message)
            assert not _leaks(app, message), (env_file, message)
            answers.add(message.replace(env_file.lstrip("./"), "PATH").split(" is not")[1])
    assert len(answers) <= 1  # missing and outside alike: no existence oracle


async def test_an_invalid_env_line_is_located_not_quoted(
    client: httpx.AsyncClient, viewer: str, fake: _FakeApplier
) -> None:
    body = {
        "files": [
            _compose({"env_file": "app.env"}),
            stack_file("app.env", b"-----BEGIN PRIVATE KEY-----\nA=1\n"),
        ]
    }
    response = await client.post("/api/v1/stacks/validate", json=body, headers=bearer(viewer))
    error = response.json()["errors"][0]
    assert error["file"] == "app.env" and error["line"] == 1, error
    assert "BEGIN" not in response.text and "KEY=VALUE" in error["message"]


@pytest.mark.parametrize("section", ["secrets", "configs"])
async def test_secret_and_config_files_outside_the_stack_are_refused(
    app: FastAPI, client: httpx.AsyncClient, operator: str, fake: _FakeApplier, section: str
) -> None:
    data = _plant(app)
    for source in ("../../master.key", f"{data}/ca/ca.key", "/proc/self/environ", "nope.txt"):
        compose = _compose({section: ["s"]}, **{section: {"s": {"file": source}}})
        body = {"environment": "lab", "files": [compose]}
        for method, path in (
            ("POST", "/api/v1/stacks/shop/deploy"),
            ("POST", "/api/v1/stacks/validate"),
        ):
            message = await _refused(client, operator, method, path, body)
            assert NOT_OURS in message and f"{section[:-1]} 's'" in message, message
            assert not _leaks(app, message)


@pytest.mark.parametrize(
    ("service", "top"),
    [
        ({"extends": {"file": "/etc/passwd", "service": "x"}}, {}),
        ({"extends": {"file": "../../admin-password", "service": "x"}}, {}),
        ({}, {"include": ["/etc/passwd"]}),
        ({}, {"include": [{"path": "../../master.key"}]}),
        ({"label_file": "/proc/self/environ"}, {}),
        ({"build": {"context": ".", "additional_contexts": {"x": "/"}}}, {}),
        ({"build": {"context": ".", "secrets": ["s"]}}, {"secrets": {"s": {"file": "/"}}}),
        ({"build": {"context": ".", "ssh": ["default=/root/.ssh/id_rsa"]}}, {}),
        ({"credential_spec": {"file": "/etc/shadow"}}, {}),
    ],
)
async def test_other_keys_that_name_files_are_refused_without_reading(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer: str,
    fake: _FakeApplier,
    service: dict[str, Any],
    top: dict[str, Any],
) -> None:
    _plant(app)
    body = {"files": [_compose(service, **top), stack_file("Dockerfile", b"FROM scratch\n")]}
    response = await client.post("/api/v1/stacks/validate", json=body, headers=bearer(viewer))
    result = response.json()
    assert result["ok"] is False, result
    assert (
        "unknown key" in result["errors"][0]["message"] or "not" in result["errors"][0]["message"]
    )
    assert not _leaks(app, response.text)


async def test_the_server_writes_no_stack_to_its_disk(
    app: FastAPI, client: httpx.AsyncClient, operator: str, fake: _FakeApplier
) -> None:
    files = [_compose({"build": "./ctx"}), stack_file("ctx/Dockerfile", b"FROM scratch\n")]
    response = await client.post(
        "/api/v1/stacks/shop/deploy",
        json={"environment": "lab", "files": files},
        headers=bearer(operator),
    )
    assert response.status_code == 200, response.text
    assert not (context_of(app).stacks.data_dir / "stacks").exists()
