"""A container spec or recreate option with an unknown field is refused, with its name.

``ContainerSpec``/``RecreateOptions`` refuse unknown fields as every request body does: a
misspelt option (``privilged``) would otherwise be dropped silently and the container made
without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from fleetdeck.container_spec import ContainerSpec, RecreateOptions
from fleetdeck.wire.agent import ContainerCreateBody as AgentCreateBody
from fleetdeck.wire.agent import RecreateBody as AgentRecreateBody

from .conftest import bearer

if TYPE_CHECKING:
    import httpx

UNKNOWN: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "POST",
        "/api/v1/containers",
        {"environment": "lab", "spec": {"image": "web:1", "privilged": True}},
        "spec.privilged",
    ),
    (
        "POST",
        "/api/v1/containers",
        {
            "environment": "lab",
            "spec": {"image": "web:1", "ports": [{"container_port": 80, "hostport": 8080}]},
        },
        "spec.ports.0.hostport",
    ),
    (
        "POST",
        "/api/v1/containers",
        {
            "environment": "lab",
            "spec": {"image": "web:1", "mounts": [{"source": "data", "target": "/d", "ro": True}]},
        },
        "spec.mounts.0.ro",
    ),
    ("POST", "/api/v1/containers/lab/node1/web/recreate", {"pull": True, "force": 1}, "force"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), UNKNOWN)
async def test_an_unknown_field_is_a_422_that_names_it(
    client: httpx.AsyncClient,
    admin_token: str,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    response = await client.request(method, path, json=body, headers=bearer(admin_token))
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["error"] == "invalid_input", answer
    assert f"{field}: Extra inputs are not permitted" in answer["message"]


def test_the_agent_refuses_unknown_fields_of_its_bodies_too() -> None:
    with pytest.raises(ValidationError, match="privilged"):
        AgentCreateBody.model_validate({"spec": {"image": "web:1", "privilged": True}})
    with pytest.raises(ValidationError, match="force"):
        AgentRecreateBody.model_validate({"pull": True, "force": 1})


def test_what_the_server_sends_its_agent_is_accepted() -> None:
    """The server's bodies to the agent are dumps of the same models: they still parse."""
    spec = ContainerSpec.model_validate(
        {"image": "web:1", "ports": [{"container_port": 80, "host_port": 0}],
         "mounts": [{"source": "data", "target": "/d", "read_only": True}]}
    )  # fmt: skip
    sent = AgentCreateBody.model_validate({"spec": spec.model_dump(mode="json"), "auth": None})
    assert sent.spec == spec
    options = RecreateOptions(pull=True, timeout=3)
    body = options.model_dump(exclude_none=True) | {"auth": {"username": "u"}}
    assert AgentRecreateBody.model_validate(body).timeout == 3
