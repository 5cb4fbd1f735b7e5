"""Relaying an agent's NDJSON stream: errors at once are error responses, later ones in-band."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from fleetdeck.errors import NodeUnreachableError
from fleetdeck.server.fleet.common import ndjson_response

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi.responses import StreamingResponse


async def _lines(*items: str, then: Exception | None = None) -> AsyncIterator[str]:
    for item in items:
        yield item
    if then is not None:
        raise then


async def _body(response: StreamingResponse) -> list[dict[str, object]]:
    chunks = [c if isinstance(c, bytes) else str(c).encode() async for c in response.body_iterator]
    return [json.loads(line) for line in b"".join(chunks).splitlines()]


async def test_an_unreachable_node_is_an_error_response_and_its_audit_says_so() -> None:
    # Issue #12: a pull from an unreachable node answered 200 and told it in-band, exit 1.
    outcomes: list[str] = []

    async def record(result: str) -> None:
        outcomes.append(result)

    gone = NodeUnreachableError("node env/n3 is unreachable")
    with pytest.raises(NodeUnreachableError):
        await ndjson_response(_lines(then=gone), record)
    assert outcomes == ["error: node env/n3 is unreachable"]


async def test_errors_later_in_the_stream_carry_their_kind_and_reach_the_audit() -> None:
    outcomes: list[str] = []

    async def record(result: str) -> None:
        outcomes.append(result)

    lost = NodeUnreachableError("node env/n3 became unreachable")
    response = await ndjson_response(_lines('{"status": "Pulling"}', then=lost), record)
    assert await _body(response) == [
        {"status": "Pulling"},
        {"error": "node_unreachable", "message": "node env/n3 became unreachable"},
    ]
    failed_pull = _lines('{"status": "a"}', '{"error": "manifest unknown"}')
    docker = await ndjson_response(failed_pull, record)
    assert (await _body(docker))[-1] == {"error": "manifest unknown"}
    assert outcomes == ["error: node env/n3 became unreachable", "error: manifest unknown"]
