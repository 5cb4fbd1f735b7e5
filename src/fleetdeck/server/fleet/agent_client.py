"""The typed client of one node's agent: one method per agent route, over a :class:`Transport`.

No other module of the server names an agent path: each route of the agent
(``fleetdeck.agent.api*``) is a method here, with typed arguments and answers. Docker's own
documents (an inspect, a service, its tasks) stay JSON objects, handed on as the engine wrote
them; the agent's own small answers are models of :mod:`fleetdeck.wire.agent`. A body the
agent's route reads into a model of :mod:`fleetdeck.wire.agent` is built from that model
(:func:`_body`), so the two sides cannot drift apart unnoticed.

Every method builds its path when it is called, before anything is awaited, so a name that
cannot be a path segment is refused (``InvalidPathError``) before any call or audit entry;
the returned awaitable does the call. Link loss, fail-fast and abandonment are the
transport's (see :mod:`fleetdeck.server.fleet.links`).

Paths are built by :func:`agent_path`, so that no user value can reach another route. A
value put in a path as it is can change which route it names: an image called
``../containers/ID`` made ``DELETE /v1/images/{ref}`` reach the agent as
``DELETE /v1/containers/ID`` (the HTTP client resolves dot segments). :func:`agent_path`
percent-encodes every segment (``/`` included), so a value is always exactly one segment,
and refuses the segments no encoding can carry (empty, ``.``, ``..``). The agent refuses a
segment holding ``/`` or ``..`` in turn (``fleetdeck.agent.api_support.check_path_segments``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from pydantic import ValidationError

from fleetdeck.errors import AgentIncompatibleError, InvalidPathError
from fleetdeck.protocol import PROTOCOL_VERSION
from fleetdeck.server.fleet.agent_streams import LOG_LINE, LOG_STREAM_MESSAGE, PULL_PROGRESS
from fleetdeck.server.fleet.transport import CALL_TIMEOUT_S
from fleetdeck.wire.agent import (
    ConnectBody,
    ContainerCreateBody,
    CreatedId,
    DataBody,
    FilesBody,
    FilesWritten,
    HostDigestBody,
    ImageDigest,
    LogStreamBody,
    NetworkBody,
    NetworkSpecBody,
    NodeUpdateBody,
    PruneBody,
    PullBody,
    ReconnectBody,
    RecreateBody,
    ScaleBody,
    ServiceCreateBody,
    ServiceImageBody,
    ServiceUpdateBody,
    StackContainerCreateBody,
    StackProject,
    SwarmDigestBody,
    UpgradeBody,
    VolumeBody,
    newer_fields,
)
from fleetdeck.wire.volume_backups import ResticJobBody, ResticJobResult

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
    from contextlib import AbstractAsyncContextManager

    from pydantic import BaseModel
    from websockets.asyncio.client import ClientConnection

    from fleetdeck.server.fleet.transport import Transport
    from fleetdeck.wire.streams import LogStreamMessage, PullProgress

M = TypeVar("M", bound="BaseModel")

#: A JSON object as the agent (or Docker behind it) wrote it.
JsonObject = dict[str, Any]

#: Long engine operations (pulls, builds, stops with a grace period) get this long.
LONG_CALL_S = 600.0
#: Prunes walk every object of a kind.
PRUNE_TIMEOUT_S = 300.0


def agent_path(*segments: str | int) -> str:
    """``/v1/`` and the segments, each percent-encoded with nothing kept safe.

    Raises:
        InvalidPathError: a segment is empty, ``.`` or ``..``.
    """
    parts: list[str] = []
    for segment in segments:
        text = str(segment)
        if text in ("", ".", ".."):
            raise InvalidPathError(f"{text!r} is not a valid name in a path")
        parts.append(quote(text, safe=""))
    return "/v1/" + "/".join(parts)


#: ``GET /v1/info``: the host and engine (asked of a local agent before it has a link).
INFO_PATH = agent_path("info")
#: ``GET /v1/inventory/stream``: the inventory stream a link follows.
INVENTORY_STREAM_PATH = agent_path("inventory", "stream")


async def _parsed(answer: Awaitable[Any], model: type[M]) -> M:
    return model.model_validate(await answer)


async def _none(answer: Awaitable[Any]) -> None:
    await answer


def _with_auth(body: JsonObject, auth: dict[str, str] | None) -> JsonObject:
    if auth:
        body["auth"] = auth
    return body


def _body(
    model: type[BaseModel],
    fields: Mapping[str, Any],
    protocol: int = PROTOCOL_VERSION,
    where: str = "the node",
) -> JsonObject:
    """``fields`` as the agent's route ``model`` reads them: validated, dumped with their keys.

    The agent's models ignore unknown top-level fields, so a key the model does not declare
    would vanish there silently: it is refused here instead. Fields the model refuses are
    sent as they are: the agent answers them with its 422, as it always has (the server's
    own checks come first; this is the contract's, not a gate). For an agent of an older
    ``protocol``, fields added since (``wire.agent.since``) are left out when they hold their
    default and refused when they do not: an older agent is never sent a field it does not
    know (see :mod:`fleetdeck.wire.agent`).

    Raises:
        TypeError: a key ``model`` does not declare (the two sides drifted apart).
        AgentIncompatibleError: a field the agent's protocol lacks is set.
    """
    unknown = sorted(set(fields) - set(model.model_fields))
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(unknown)}")
    try:
        body = model.model_validate(fields).model_dump(mode="json", exclude_unset=True)
    except ValidationError:
        return dict(fields)
    newer = newer_fields(model, body, protocol)
    refused = [path for path, at_default, _, _ in newer if not at_default]
    if refused:
        raise AgentIncompatibleError(
            f"the agent on {where} speaks protocol {protocol}, which has no {', '.join(refused)}",
            hint="upgrade that agent to the server's version, or leave the option out",
        )
    for _, _, parent, key in newer:
        del parent[key]
    return body


class AgentClient:
    """One node's agent, route by route."""

    def __init__(self, transport: Transport, protocol: Callable[[], int] | None = None) -> None:
        self.transport = transport
        #: The protocol the agent speaks (asked at each call: it may be upgraded meanwhile).
        self._protocol = protocol or (lambda: PROTOCOL_VERSION)

    def _body(self, model: type[BaseModel], fields: Mapping[str, Any]) -> JsonObject:
        """:func:`_body` for this node's agent and its protocol."""
        return _body(model, fields, self._protocol(), self.where)

    @property
    def where(self) -> str:
        """``ENV/NODE`` for messages."""
        return self.transport.where

    # ------------------------------------------------------------ agent
    def forget(self, *, timeout: float = 3) -> Awaitable[Any]:
        """``POST /v1/forget``: the server revoked the agent; it drops its credentials."""
        return self.transport.call("POST", agent_path("forget"), timeout=timeout)

    def upgrade(self, server: str | None, timeout_seconds: int) -> Awaitable[JsonObject]:
        """``POST /v1/upgrade``: the agent starts moving to the server's build (answers at once)."""
        body = self._body(UpgradeBody, {"server": server, "timeout_seconds": timeout_seconds})
        return self.transport.call("POST", agent_path("upgrade"), json_body=body, timeout=60)

    def log_stream(
        self, cursors: dict[str, list[int]] | dict[str, Any]
    ) -> AsyncIterator[LogStreamMessage]:
        """``POST /v1/logs/stream``: the log shipper's batches from ``cursors`` on."""
        return self.transport.stream_messages(
            "POST",
            agent_path("logs", "stream"),
            LOG_STREAM_MESSAGE,
            name="logs",
            json_body=self._body(LogStreamBody, {"cursors": cursors}),
        )

    # ------------------------------------------------------------ containers
    def inspect_container(
        self, container: str, *, timeout: float = CALL_TIMEOUT_S
    ) -> Awaitable[JsonObject]:
        """``GET /v1/containers/{id}``: Docker's inspect document."""
        return self.transport.call("GET", agent_path("containers", container), timeout=timeout)

    def create_container(
        self, spec: JsonObject, auth: dict[str, str] | None, *, timeout: float
    ) -> Awaitable[JsonObject]:
        """``POST /v1/containers``: create (and start) a container from a spec."""
        body = self._body(ContainerCreateBody, _with_auth({"spec": spec}, auth))
        return self.transport.call(
            "POST", agent_path("containers"), json_body=body, timeout=timeout
        )

    def recreate_container(
        self, container: str, options: JsonObject, auth: dict[str, str] | None, *, timeout: float
    ) -> Awaitable[JsonObject]:
        """``POST /v1/containers/{id}/recreate``: same config, new container."""
        body = self._body(RecreateBody, _with_auth(dict(options), auth))
        path = agent_path("containers", container, "recreate")
        return self.transport.call("POST", path, json_body=body, timeout=timeout)

    def container_action(
        self,
        container: str,
        action: str,
        *,
        t: int | None = None,
        signal: str | None = None,
        timeout: float,
    ) -> Awaitable[JsonObject]:
        """``POST /v1/containers/{id}/{action}``: start, stop, restart, kill, pause, unpause."""
        params = {"t": t, "signal": signal}
        path = agent_path("containers", container, action)
        return self.transport.call("POST", path, params=params, timeout=timeout)

    def rename_container(self, container: str, name: str) -> Awaitable[JsonObject]:
        """``POST /v1/containers/{id}/rename?name=NEW``."""
        path = agent_path("containers", container, "rename")
        return self.transport.call("POST", path, params={"name": name})

    def remove_container(
        self,
        container: str,
        *,
        force: bool,
        volumes: bool | None = None,
        timeout: float = CALL_TIMEOUT_S,
    ) -> Awaitable[JsonObject]:
        """``DELETE /v1/containers/{id}?force=&volumes=``."""
        params = {"force": force, "volumes": volumes}
        path = agent_path("containers", container)
        return self.transport.call("DELETE", path, params=params, timeout=timeout)

    def container_logs(
        self,
        container: str,
        *,
        tail: str | None,
        follow: bool,
        timestamps: bool,
        since: str | None = None,
    ) -> AsyncIterator[str]:
        """``GET /v1/containers/{id}/logs``: NDJSON LogLines, each checked."""
        params = {"tail": tail, "since": since, "timestamps": timestamps, "follow": follow}
        return self.transport.stream_lines(
            "GET",
            agent_path("containers", container, "logs"),
            params=params,
            name="logs",
            check=LOG_LINE,
        )

    def container_stats(self, container: str) -> Awaitable[JsonObject]:
        """``GET /v1/containers/{id}/stats``: a one-shot ContainerStats."""
        return self.transport.call("GET", agent_path("containers", container, "stats"))

    def exec(
        self,
        container: str,
        cmd: list[str],
        *,
        user: str | None = None,
        workdir: str | None = None,
        env: list[str] | dict[str, str] | None = None,
        timeout: float,
    ) -> Awaitable[JsonObject]:
        """``POST /v1/containers/{id}/exec``: run a command; its output and exit code."""
        fields = {"cmd": cmd, "user": user, "workdir": workdir, "env": env}
        body = {k: v for k, v in fields.items() if v is not None}
        path = agent_path("containers", container, "exec")
        return self.transport.call("POST", path, json_body=body, timeout=timeout)

    def console(
        self, container: str, params: list[tuple[str, str]]
    ) -> AbstractAsyncContextManager[ClientConnection]:
        """``GET /v1/containers/{id}/exec/ws``: an interactive session's websocket."""
        return self.transport.websocket(agent_path("containers", container, "exec", "ws"), params)

    # ------------------------------------------------------------ images
    def list_images(self, *, timeout: float) -> Awaitable[Any]:
        """``GET /v1/images``: ImageInfo items (validated one by one by the caller)."""
        return self.transport.call("GET", agent_path("images"), timeout=timeout)

    def pull_image_lines(self, image: str, auth: dict[str, str] | None) -> AsyncIterator[str]:
        """``POST /v1/images/pull``: Docker's progress as NDJSON lines, each checked."""
        return self.transport.stream_lines(
            "POST",
            agent_path("images", "pull"),
            json_body=self._body(PullBody, _with_auth({"image": image}, auth)),
            name="pull",
            check=PULL_PROGRESS,
        )

    def pull_image(self, image: str, auth: dict[str, str] | None) -> AsyncIterator[PullProgress]:
        """``POST /v1/images/pull``: Docker's progress, parsed."""
        return self.transport.stream_messages(
            "POST",
            agent_path("images", "pull"),
            PULL_PROGRESS,
            name="pull",
            json_body=self._body(PullBody, _with_auth({"image": image}, auth)),
        )

    def remove_image(self, ref: str, *, force: bool) -> Awaitable[JsonObject]:
        """``DELETE /v1/images/{ref}?force=``."""
        path = agent_path("images", ref)
        return self.transport.call("DELETE", path, params={"force": force})

    def prune_images(self) -> Awaitable[JsonObject]:
        """``POST /v1/images/prune``: dangling images."""
        return self.transport.call("POST", agent_path("images", "prune"), timeout=PRUNE_TIMEOUT_S)

    # ------------------------------------------------------------ volumes
    def list_volumes(self, *, size: bool, timeout: float) -> Awaitable[Any]:
        """``GET /v1/volumes[?size=true]``: VolumeInfo items (validated by the caller)."""
        params = {"size": "true"} if size else None
        return self.transport.call("GET", agent_path("volumes"), params=params, timeout=timeout)

    def create_volume(self, spec: JsonObject) -> Awaitable[JsonObject]:
        """``POST /v1/volumes``: VolumeInfo of the new volume."""
        return self.transport.call(
            "POST", agent_path("volumes"), json_body=self._body(VolumeBody, spec)
        )

    def remove_volume(self, name: str, *, force: bool) -> Awaitable[JsonObject]:
        """``DELETE /v1/volumes/{name}?force=``."""
        path = agent_path("volumes", name)
        return self.transport.call("DELETE", path, params={"force": force})

    def prune_volumes(self) -> Awaitable[JsonObject]:
        """``POST /v1/volumes/prune``."""
        return self.transport.call("POST", agent_path("volumes", "prune"), timeout=PRUNE_TIMEOUT_S)

    # ------------------------------------------------------------ networks
    def list_networks(self, *, timeout: float) -> Awaitable[Any]:
        """``GET /v1/networks``: NetworkInfo items (validated by the caller)."""
        return self.transport.call("GET", agent_path("networks"), timeout=timeout)

    def create_network(self, spec: JsonObject) -> Awaitable[JsonObject]:
        """``POST /v1/networks``: NetworkInfo of the new network."""
        body = self._body(NetworkBody, spec)
        return self.transport.call("POST", agent_path("networks"), json_body=body)

    def remove_network(self, name: str) -> Awaitable[JsonObject]:
        """``DELETE /v1/networks/{id}``."""
        return self.transport.call("DELETE", agent_path("networks", name))

    def prune_networks(self) -> Awaitable[JsonObject]:
        """``POST /v1/networks/prune``."""
        return self.transport.call("POST", agent_path("networks", "prune"), timeout=PRUNE_TIMEOUT_S)

    def connect_network(self, name: str, container: str) -> Awaitable[JsonObject]:
        """``POST /v1/networks/{id}/connect`` ``{container}``."""
        path = agent_path("networks", name, "connect")
        body = self._body(ConnectBody, {"container": container})
        return self.transport.call("POST", path, json_body=body)

    def disconnect_network(
        self, name: str, container: str, *, force: bool | None = None
    ) -> Awaitable[JsonObject]:
        """``POST /v1/networks/{id}/disconnect`` ``{container, force?}``."""
        body: JsonObject = {"container": container}
        if force is not None:
            body["force"] = force
        path = agent_path("networks", name, "disconnect")
        return self.transport.call("POST", path, json_body=self._body(ConnectBody, body))

    # ------------------------------------------------------------ swarm
    def swarm_nodes(self) -> Awaitable[list[JsonObject]]:
        """``GET /v1/swarm/nodes``: Docker's node objects."""
        return self.transport.call("GET", agent_path("swarm", "nodes"))

    def update_swarm_node(self, node_id: str, update: JsonObject) -> Awaitable[JsonObject]:
        """``POST /v1/swarm/nodes/{id}`` ``{availability?, labels?}``: the updated node."""
        path = agent_path("swarm", "nodes", node_id)
        return self.transport.call("POST", path, json_body=self._body(NodeUpdateBody, update))

    def swarm_services(self) -> Awaitable[list[JsonObject]]:
        """``GET /v1/swarm/services``: Docker's service objects (with ServiceStatus)."""
        return self.transport.call("GET", agent_path("swarm", "services"))

    def swarm_service(self, service: str) -> Awaitable[JsonObject]:
        """``GET /v1/swarm/services/{id}``."""
        return self.transport.call("GET", agent_path("swarm", "services", service))

    def service_tasks(self, service: str) -> Awaitable[list[JsonObject]]:
        """``GET /v1/swarm/services/{id}/tasks``: Docker's task objects."""
        return self.transport.call("GET", agent_path("swarm", "services", service, "tasks"))

    def service_logs(self, service: str, *, tail: str, follow: bool) -> AsyncIterator[str]:
        """``GET /v1/swarm/services/{id}/logs?tail=&follow=``: NDJSON LogLines, each checked."""
        return self.transport.stream_lines(
            "GET",
            agent_path("swarm", "services", service, "logs"),
            params={"tail": tail, "follow": follow},
            name="logs",
            check=LOG_LINE,
        )

    def scale_service(self, service: str, replicas: int) -> Awaitable[JsonObject]:
        """``POST /v1/swarm/services/{id}/scale`` ``{replicas}``."""
        path = agent_path("swarm", "services", service, "scale")
        body = self._body(ScaleBody, {"replicas": replicas})
        return self.transport.call("POST", path, json_body=body)

    def update_service_image(self, service: str, image: str) -> Awaitable[JsonObject]:
        """``POST /v1/swarm/services/{id}/image`` ``{image}``."""
        path = agent_path("swarm", "services", service, "image")
        body = self._body(ServiceImageBody, {"image": image})
        return self.transport.call("POST", path, json_body=body)

    def rollback_service(self, service: str) -> Awaitable[JsonObject]:
        """``POST /v1/swarm/services/{id}/rollback``."""
        return self.transport.call("POST", agent_path("swarm", "services", service, "rollback"))

    def remove_service(self, service: str) -> Awaitable[JsonObject]:
        """``DELETE /v1/swarm/services/{id}``."""
        return self.transport.call("DELETE", agent_path("swarm", "services", service))

    def volume_restic(
        self, volume: str, job: Mapping[str, Any], *, timeout: float
    ) -> Awaitable[ResticJobResult]:
        """``POST /v1/volumes/{name}/restic``: a restic job in a helper next to the volume."""
        body = self._body(ResticJobBody, job)
        path = agent_path("volumes", volume, "restic")
        return _parsed(self.transport.call("POST", path, json_body=body, timeout=timeout),
                       ResticJobResult)  # fmt: skip

    # ------------------------------------------------------------ host stacks
    def stack_project(self, project: str) -> Awaitable[StackProject]:
        """``GET /v1/stacks/projects/{project}``: the Compose project's objects."""
        answer = self.transport.call("GET", agent_path("stacks", "projects", project))
        return _parsed(answer, StackProject)

    def stack_image(self, ref: str, *, timeout: float = CALL_TIMEOUT_S) -> Awaitable[JsonObject]:
        """``GET /v1/stacks/images?ref=``: a local image ``{id, repo_digests, repo_tags…}``."""
        path = agent_path("stacks", "images")
        return self.transport.call("GET", path, params={"ref": ref}, timeout=timeout)

    def stack_image_digest(self, image: str, auth: dict[str, str] | None) -> Awaitable[ImageDigest]:
        """``POST /v1/stacks/images/digest``: the registry's manifest digest of ``image``."""
        body = self._body(HostDigestBody, _with_auth({"image": image}, auth))
        answer = self.transport.call(
            "POST", agent_path("stacks", "images", "digest"), json_body=body
        )
        return _parsed(answer, ImageDigest)

    def build_image(
        self, context_tar: bytes, params: dict[str, str], *, timeout: float = LONG_CALL_S
    ) -> Awaitable[CreatedId]:
        """``POST /v1/stacks/build?tag=&params=``: build an image from a context tar."""
        answer = self.transport.call(
            "POST", agent_path("stacks", "build"), params=params, content=context_tar,
            timeout=timeout,
        )  # fmt: skip
        return _parsed(answer, CreatedId)

    def create_stack_network(self, body: JsonObject) -> Awaitable[None]:
        """``POST /v1/stacks/networks``: a network labelled by the caller."""
        return _none(self.transport.call("POST", agent_path("stacks", "networks"), json_body=body))

    def create_stack_container(
        self, body: JsonObject, *, timeout: float = LONG_CALL_S
    ) -> Awaitable[CreatedId]:
        """``POST /v1/stacks/containers`` ``{name, config, networks}``: created, not started."""
        answer = self.transport.call(
            "POST",
            agent_path("stacks", "containers"),
            json_body=self._body(StackContainerCreateBody, body),
            timeout=timeout,
        )
        return _parsed(answer, CreatedId)

    def reconnect(self, network: str, body: JsonObject) -> Awaitable[None]:
        """``POST /v1/stacks/networks/{net}/reconnect``: new aliases, same address."""
        path = agent_path("stacks", "networks", network, "reconnect")
        return _none(self.transport.call("POST", path, json_body=self._body(ReconnectBody, body)))

    def put_stack_files(self, stack: str, files: dict[str, str]) -> Awaitable[FilesWritten]:
        """``PUT /v1/stacks/files/{stack}`` (base64 contents by key): each file's host path."""
        path = agent_path("stacks", "files", stack)
        body = self._body(FilesBody, {"files": files})
        return _parsed(self.transport.call("PUT", path, json_body=body), FilesWritten)

    def delete_stack_files(self, stack: str, keep: list[str]) -> Awaitable[None]:
        """``DELETE /v1/stacks/files/{stack}`` ``{keep}``: the stack's files but ``keep``."""
        path = agent_path("stacks", "files", stack)
        body = self._body(PruneBody, {"keep": keep})
        return _none(self.transport.call("DELETE", path, json_body=body))

    def stack_ports(self) -> Awaitable[dict[str, list[int]]]:
        """``GET /v1/stacks/ports``: host ports with a listener."""
        return self.transport.call("GET", agent_path("stacks", "ports"))

    # ------------------------------------------------------------ swarm stacks
    def swarm_stacks(self) -> Awaitable[list[JsonObject]]:
        """``GET /v1/swarm/stacks``: the Swarm's stacks (namespaces)."""
        return self.transport.call("GET", agent_path("swarm", "stacks"))

    def swarm_stack(self, stack: str) -> Awaitable[JsonObject]:
        """``GET /v1/swarm/stacks/{namespace}``: services, tasks, networks, secrets, configs."""
        return self.transport.call("GET", agent_path("swarm", "stacks", stack))

    def swarm_image_digest(self, image: str, auth: dict[str, str] | None) -> Awaitable[ImageDigest]:
        """``POST /v1/swarm/stacks/images/digest`` ``{image, auth}``."""
        path = agent_path("swarm", "stacks", "images", "digest")
        body = self._body(SwarmDigestBody, {"image": image, "auth": auth})
        answer = self.transport.call("POST", path, json_body=body)
        return _parsed(answer, ImageDigest)

    def create_swarm_service(
        self, spec: JsonObject, auth: dict[str, str] | None
    ) -> Awaitable[JsonObject]:
        """``POST /v1/swarm/stacks/services`` ``{spec, auth}``."""
        path = agent_path("swarm", "stacks", "services")
        body = self._body(ServiceCreateBody, {"spec": spec, "auth": auth})
        return self.transport.call("POST", path, json_body=body)

    def update_swarm_service(
        self, service: str, spec: JsonObject, version: int, auth: dict[str, str] | None
    ) -> Awaitable[JsonObject]:
        """``POST /v1/swarm/stacks/services/{id}/update`` ``{spec, version, auth}``."""
        body = self._body(ServiceUpdateBody, {"spec": spec, "version": version, "auth": auth})
        path = agent_path("swarm", "stacks", "services", service, "update")
        return self.transport.call("POST", path, json_body=body)

    def remove_swarm_service(self, service: str) -> Awaitable[JsonObject]:
        """``DELETE /v1/swarm/stacks/services/{id}``."""
        return self.transport.call("DELETE", agent_path("swarm", "stacks", "services", service))

    def create_swarm_network(self, body: JsonObject) -> Awaitable[JsonObject]:
        """``POST /v1/swarm/stacks/networks``: an overlay network of a stack."""
        return self.transport.call(
            "POST",
            agent_path("swarm", "stacks", "networks"),
            json_body=self._body(NetworkSpecBody, body),
        )

    def remove_swarm_network(self, network: str) -> Awaitable[JsonObject]:
        """``DELETE /v1/swarm/stacks/networks/{id}``."""
        return self.transport.call("DELETE", agent_path("swarm", "stacks", "networks", network))

    def create_swarm_data(self, kind: str, body: JsonObject) -> Awaitable[CreatedId]:
        """``POST /v1/swarm/stacks/{secrets|configs}`` ``{name, labels, data}``: its id."""
        path = agent_path("swarm", "stacks", kind)
        answer = self.transport.call("POST", path, json_body=self._body(DataBody, body))
        return _parsed(answer, CreatedId)

    def remove_swarm_data(self, kind: str, object_id: str) -> Awaitable[JsonObject]:
        """``DELETE /v1/swarm/stacks/{secrets|configs}/{id}``."""
        return self.transport.call("DELETE", agent_path("swarm", "stacks", kind, object_id))
