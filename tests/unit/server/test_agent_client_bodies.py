"""What ``AgentClient`` sends with each agent route is what the agent's route reads.

Both sides use the models of :mod:`fleetdeck.wire.agent`: the agent's routes validate with
them (``api_support.read_body``) and the client builds each body from them. Each case drives
the client over a transport that only records the call, then validates the recorded JSON
against the route's model: its keys are the model's, and the model gives back the same JSON.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel

from fleetdeck.container_spec import ContainerSpec, RecreateOptions
from fleetdeck.server.fleet.agent_client import AgentClient, _body
from fleetdeck.wire import agent as wire_agent
from fleetdeck.wire.containers import ExecBody

if TYPE_CHECKING:
    from collections.abc import Callable

AUTH = {"username": "u", "password": "p", "serveraddress": "registry.example"}
LABELS = {"com.docker.stack.namespace": "shop"}
SWARM_NETWORK: dict[str, Any] = {
    "name": "shop_default",
    "labels": LABELS,
    "driver": "overlay",
    "attachable": True,
    "internal": False,
    "options": {},
    "ipam": {"Driver": "default", "Config": [{"Subnet": "10.9.0.0/24"}]},
}


class _NoLines:
    """A stream that is never read (the call is what the test looks at)."""

    def __aiter__(self) -> _NoLines:
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration


class _Recorder:
    """A :class:`~fleetdeck.server.fleet.transport.Transport` that records what is sent."""

    where = "lab/node-1"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    async def _answer(self) -> dict[str, Any]:
        return {"id": "new", "paths": {}, "digest": "sha256:1"}

    def call(self, method: str, path: str, *, json_body: Any = None, **_: Any) -> Any:
        self.calls.append((method, path, json_body))
        return self._answer()

    def stream_lines(self, method: str, path: str, *, json_body: Any = None, **_: Any) -> Any:
        self.calls.append((method, path, json_body))
        return _NoLines()

    def stream_messages(
        self, method: str, path: str, adapter: Any, *, json_body: Any = None, **_: Any
    ) -> Any:
        self.calls.append((method, path, json_body))
        return _NoLines()


#: (what, route's model, how the server calls the client, the JSON it has always sent)
CASES: list[tuple[str, type[BaseModel], Callable[[AgentClient], Any], dict[str, Any]]] = [
    (
        "agent upgrade",
        wire_agent.UpgradeBody,
        lambda a: a.upgrade("https://server:8443", 60),
        {"server": "https://server:8443", "timeout_seconds": 60},
    ),
    (
        "logs stream",
        wire_agent.LogStreamBody,
        lambda a: a.log_stream({"c1": [10, 2]}),
        {"cursors": {"c1": [10, 2]}},
    ),
    (
        "container create",
        wire_agent.ContainerCreateBody,
        lambda a: a.create_container(
            ContainerSpec(image="web:1").model_dump(mode="json"), AUTH, timeout=5
        ),
        {"spec": ContainerSpec(image="web:1").model_dump(mode="json"), "auth": AUTH},
    ),
    (
        "container create, no credentials",
        wire_agent.ContainerCreateBody,
        lambda a: a.create_container(
            ContainerSpec(image="web:1").model_dump(mode="json"), None, timeout=5
        ),
        {"spec": ContainerSpec(image="web:1").model_dump(mode="json")},
    ),
    (
        "container recreate",
        wire_agent.RecreateBody,
        lambda a: a.recreate_container(
            "c1", RecreateOptions(pull=True).model_dump(exclude_none=True), AUTH, timeout=5
        ),
        {**RecreateOptions(pull=True).model_dump(exclude_none=True), "auth": AUTH},
    ),
    (
        "exec",
        ExecBody,
        lambda a: a.exec("c1", ["ls"], env=["A=1"], timeout=5),
        {"cmd": ["ls"], "env": ["A=1"]},
    ),
    (
        "image pull (lines)",
        wire_agent.PullBody,
        lambda a: a.pull_image_lines("web:1", AUTH),
        {"image": "web:1", "auth": AUTH},
    ),
    (
        "image pull, no credentials",
        wire_agent.PullBody,
        lambda a: a.pull_image("web:1", None),
        {"image": "web:1"},
    ),
    (
        "volume create",
        wire_agent.VolumeBody,
        lambda a: a.create_volume({"name": "data", "driver": None, "labels": {"a": "b"}}),
        {"name": "data", "driver": None, "labels": {"a": "b"}},
    ),
    (
        "network create",
        wire_agent.NetworkBody,
        lambda a: a.create_network({"name": "front", "attachable": True}),
        {"name": "front", "attachable": True},
    ),
    (
        "network connect",
        wire_agent.ConnectBody,
        lambda a: a.connect_network("front", "c1"),
        {"container": "c1"},
    ),
    (
        "network disconnect",
        wire_agent.ConnectBody,
        lambda a: a.disconnect_network("front", "c1", force=True),
        {"container": "c1", "force": True},
    ),
    (
        "swarm node update",
        wire_agent.NodeUpdateBody,
        lambda a: a.update_swarm_node("n1", {"availability": "drain", "labels": {"x": None}}),
        {"availability": "drain", "labels": {"x": None}},
    ),
    (
        "service scale",
        wire_agent.ScaleBody,
        lambda a: a.scale_service("s1", 3),
        {"replicas": 3},
    ),
    (
        "service image",
        wire_agent.ServiceImageBody,
        lambda a: a.update_service_image("s1", "web:2"),
        {"image": "web:2"},
    ),
    (
        "host stack container",
        wire_agent.StackContainerCreateBody,
        lambda a: a.create_stack_container(
            {"name": "shop-web-1", "config": {"Image": "web:1"}, "networks": {"shop": {}}}
        ),
        {"name": "shop-web-1", "config": {"Image": "web:1"}, "networks": {"shop": {}}},
    ),
    (
        "host stack reconnect",
        wire_agent.ReconnectBody,
        lambda a: a.reconnect(
            "shop", {"container": "c1", "aliases": ["web"], "keep_address": True}
        ),
        {"container": "c1", "aliases": ["web"], "keep_address": True},
    ),
    (
        "host stack digest",
        wire_agent.HostDigestBody,
        lambda a: a.stack_image_digest("web:1", AUTH),
        {"image": "web:1", "auth": AUTH},
    ),
    (
        "host stack digest, no credentials",
        wire_agent.HostDigestBody,
        lambda a: a.stack_image_digest("web:1", None),
        {"image": "web:1"},
    ),
    (
        "host stack files",
        wire_agent.FilesBody,
        lambda a: a.put_stack_files("shop", {"secret:db": "c2VjcmV0"}),
        {"files": {"secret:db": "c2VjcmV0"}},
    ),
    (
        "host stack files pruned",
        wire_agent.PruneBody,
        lambda a: a.delete_stack_files("shop", ["/srv/a"]),
        {"keep": ["/srv/a"]},
    ),
    (
        "swarm stack digest",
        wire_agent.SwarmDigestBody,
        lambda a: a.swarm_image_digest("web:1", None),
        {"image": "web:1", "auth": None},
    ),
    (
        "swarm service create",
        wire_agent.ServiceCreateBody,
        lambda a: a.create_swarm_service({"Name": "shop_web", "Labels": LABELS}, AUTH),
        {"spec": {"Name": "shop_web", "Labels": LABELS}, "auth": AUTH},
    ),
    (
        "swarm service update",
        wire_agent.ServiceUpdateBody,
        lambda a: a.update_swarm_service("s1", {"Name": "shop_web"}, 7, None),
        {"spec": {"Name": "shop_web"}, "version": 7, "auth": None},
    ),
    (
        "swarm stack network",
        wire_agent.NetworkSpecBody,
        lambda a: a.create_swarm_network(dict(SWARM_NETWORK)),
        SWARM_NETWORK,
    ),
    (
        "swarm stack secret",
        wire_agent.DataBody,
        lambda a: a.create_swarm_data(
            "secrets", {"name": "shop_db", "labels": LABELS, "data": "c2VjcmV0"}
        ),
        {"name": "shop_db", "labels": LABELS, "data": "c2VjcmV0"},
    ),
]


def _settle(answer: Any) -> None:
    """Run a client method's awaitable to its end (a stream is only opened, never read)."""
    if inspect.isawaitable(answer):

        async def settle() -> None:
            await answer

        asyncio.run(settle())


def _sent(call: Callable[[AgentClient], Any]) -> Any:
    transport = _Recorder()
    _settle(call(AgentClient(transport)))  # type: ignore[arg-type]
    assert len(transport.calls) == 1
    return transport.calls[0][2]


@pytest.mark.parametrize(
    ("model", "call", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_sent_body_is_the_routes_model(
    model: type[BaseModel], call: Callable[[AgentClient], Any], expected: dict[str, Any]
) -> None:
    sent = _sent(call)
    assert sent == expected  # the JSON the server has always sent
    assert set(sent) <= set(model.model_fields)
    parsed = model.model_validate(sent)
    assert parsed.model_dump(mode="json", exclude_unset=True) == sent


def test_every_body_model_of_wire_agent_is_covered() -> None:
    bodies = {
        obj
        for name, obj in vars(wire_agent).items()
        if isinstance(obj, type) and issubclass(obj, BaseModel) and name.endswith("Body")
    }
    assert bodies - {case[1] for case in CASES} == set()


def test_a_key_the_model_lacks_is_refused_before_sending() -> None:
    with pytest.raises(TypeError, match="ScaleBody has no field replica"):
        _body(wire_agent.ScaleBody, {"replica": 3})


def test_fields_the_model_refuses_go_as_they_are_for_the_agent_to_answer() -> None:
    assert _body(wire_agent.ScaleBody, {"replicas": -1}) == {"replicas": -1}
