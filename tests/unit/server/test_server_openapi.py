"""The OpenAPI document declares what every route really answers (issue #11, finding 14).

Errors in the project's one shape with the statuses the guards and handlers produce,
streaming media types, and an upper bound on every integer a client sends. The
schemathesis test (tests/integration/test_api_schemathesis.py) checks the same document
against a running server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.server.app import create_app
from fleetdeck.server.openapi import api_operations

if TYPE_CHECKING:
    from fastapi import FastAPI

    from fleetdeck.server.config import ServerSettings

PUBLIC = {"/api/v1/health", "/api/v1/ca", "/api/v1/auth/login", "/api/v1/agents/enrol",
          "/api/v1/repos/{name}/webhook"}  # fmt: skip
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
STREAMS = {
    ("get", "/api/v1/containers/{ref}/logs"): "application/x-ndjson",
    ("post", "/api/v1/images/pull"): "application/x-ndjson",
    ("get", "/api/v1/environments/{environment}/services/{service}/logs"): "application/x-ndjson",
    ("get", "/api/v1/logs/tail"): "application/x-ndjson",
    ("post", "/api/v1/stacks/{name}/deploy"): "application/x-ndjson",
    ("post", "/api/v1/stacks/{name}/rollback"): "application/x-ndjson",
    ("get", "/api/v1/stacks/{name}/logs"): "application/x-ndjson",
    ("get", "/api/v1/events"): "text/event-stream",
    ("get", "/api/v1/ca"): "application/x-pem-file",
    ("post", "/api/v1/agents/upgrade"): "application/x-ndjson",
}


@pytest.fixture
def document(settings: ServerSettings) -> dict[str, Any]:
    doc: dict[str, Any] = create_app(settings).openapi()
    return doc


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in doc["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in ops.items()
    ]


def test_every_operation_declares_its_errors_in_the_error_shape(document: dict[str, Any]) -> None:
    ops = operations(document)
    assert len(ops) > 90
    for method, path, op in ops:
        responses = op["responses"]
        takes_input = bool(op.get("parameters") or op.get("requestBody"))
        declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
        if path not in PUBLIC:
            assert {401, 503} <= declared, (method, path, declared)
        if takes_input:
            assert 422 in declared, (method, path, declared)
            assert 404 in declared or path in PUBLIC, (method, path, declared)
        if op.get("requestBody"):
            assert 413 in declared, (method, path)
        if method != "get" and path not in PUBLIC:
            assert {403, 409} <= declared, (method, path)
        for code in declared:
            assert responses[str(code)]["content"]["application/json"]["schema"] == ERROR_REF
        assert "default" not in responses
    assert {"401", "429"} <= set(document["paths"]["/api/v1/auth/login"]["post"]["responses"])
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorBody"]["properties"]) == {"error", "message", "hint"}
    assert "HTTPValidationError" not in schemas  # FastAPI's 422 shape, which we never send


def test_roles_decide_403(document: dict[str, Any]) -> None:
    def statuses(method: str, path: str) -> set[str]:
        return set(document["paths"][path][method]["responses"])

    assert "403" not in statuses("get", "/api/v1/containers")  # any login reads
    assert "403" in statuses("get", "/api/v1/audit")  # admins only
    assert "403" in statuses("get", "/api/v1/channels/{name}/url")


def test_streaming_routes_declare_their_media_type(document: dict[str, Any]) -> None:
    for (method, path), media in STREAMS.items():
        success = document["paths"][path][method]["responses"]["200"]
        assert list(success["content"]) == [media], (method, path)


def _integers(schema: Any, components: dict[str, Any], seen: set[str]) -> list[dict[str, Any]]:
    """Every integer schema in ``schema``, following $refs once."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                found += _integers(components[name], components, seen)
        if schema.get("type") == "integer":
            found.append(schema)
        for value in schema.values():
            found += _integers(value, components, seen)
    elif isinstance(schema, list):
        for value in schema:
            found += _integers(value, components, seen)
    return found


def test_every_integer_a_client_sends_has_an_upper_bound(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    checked = 0
    for method, path, op in operations(document):
        inputs = [p["schema"] for p in op.get("parameters", [])]
        if "requestBody" in op:
            inputs.append(op["requestBody"])
        for schema in inputs:
            for integer in _integers(schema, components, set()):
                assert "maximum" in integer or "exclusiveMaximum" in integer, (method, path)
                checked += 1
    assert checked >= 10


def test_the_document_covers_every_api_route(app: FastAPI) -> None:
    doc = app.openapi()
    for context in api_operations(app):
        for method in (context.methods or set()) - {"HEAD"}:
            assert method.lower() in doc["paths"][context.path_format]
