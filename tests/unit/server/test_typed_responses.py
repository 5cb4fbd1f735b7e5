"""Every /api/v1 route declares the shape of its success answer (issue #13, item 1).

The OpenAPI document is the contract the client, the CLI and schemathesis read: a success
response whose schema is ``{}`` (a handler returning ``Any`` or ``dict``) or missing says
nothing about what comes back. A streaming, file or websocket route declares its media type
instead (the ``STREAMS`` table of ``test_server_openapi.py``); anything else that may not be
typed is listed in ``EXEMPT`` with its reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.server.app import create_app
from tests.unit.server.test_server_openapi import STREAMS

if TYPE_CHECKING:
    from fleetdeck.server.config import ServerSettings

#: Routes whose success answer has no JSON schema yet, and why. Nothing else may be untyped.
EXEMPT: dict[tuple[str, str], str] = {}


@pytest.fixture
def document(settings: ServerSettings) -> dict[str, Any]:
    doc: dict[str, Any] = create_app(settings).openapi()
    return doc


def _untyped(schema: Any, components: dict[str, Any], seen: set[str]) -> bool:
    """Whether ``schema`` is empty, or an array or object whose items may be anything."""
    if not isinstance(schema, dict) or not schema:
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return False
        seen.add(name)
        return _untyped(components[name], components, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return any(_untyped(s, components, seen) for s in schema[key])
    if schema.get("type") == "array":
        return _untyped(schema.get("items"), components, seen)
    if schema.get("type") == "object" and "properties" not in schema:
        extra = schema.get("additionalProperties")
        return not isinstance(extra, dict) or _untyped(extra, components, seen)
    return False


def test_every_success_response_has_a_typed_schema(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    untyped = []
    for path, ops in document["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in ops.items():
            if (method, path) in EXEMPT:
                continue
            success = {code: r for code, r in op["responses"].items() if code.startswith("2")}
            if not success:
                untyped.append(f"{method.upper()} {path}: no success response")
                continue
            for code, response in success.items():
                if code == "204":
                    continue
                content = response.get("content") or {}
                if (method, path) in STREAMS:
                    assert list(content) == [STREAMS[(method, path)]], (method, path)
                    continue
                schema = content.get("application/json", {}).get("schema")
                if _untyped(schema, components, set()):
                    untyped.append(f"{method.upper()} {path} {code}: {schema}")
    assert not untyped, "success responses without a typed schema:\n" + "\n".join(untyped)


def test_the_exemptions_are_routes_that_exist_and_still_untyped(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    for method, path in EXEMPT:
        schema = document["paths"][path][method]["responses"]["200"]["content"]
        assert _untyped(schema["application/json"]["schema"], components, set()), (method, path)
