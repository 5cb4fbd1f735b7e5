"""The agent's view of its Docker engine: containers, exec, logs, stats, events and info.

:class:`Engine` is a thin async wrapper over aiodocker for one engine. It returns
:mod:`fleetdeck.wire` models (or Docker's raw JSON where the contract says "raw"), raises only
fleetdeck error kinds, and never exposes the engine socket itself. Images, volumes, networks
and Swarm live in mixins (:mod:`fleetdeck.agent.engine_resources`,
:mod:`fleetdeck.agent.engine_swarm`) to keep each module small.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from fleetdeck.agent import convert
from fleetdeck.agent.engine_resources import ResourcesMixin
from fleetdeck.agent.engine_swarm import SwarmMixin
from fleetdeck.agent.ipvs import kernel_has_ipvs
from fleetdeck.agent.streams import demultiplex, log_lines
from fleetdeck.errors import InvalidInputError, NotFoundError
from fleetdeck.wire.containers import ExecResult

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence

    from fleetdeck.wire.containers import ContainerStats, EngineContainer, LogLine
    from fleetdeck.wire.fleet import AgentInfo

CONTAINER_ACTIONS = frozenset({"start", "stop", "restart", "kill", "pause", "unpause"})
#: Seconds between the two one-shot readings CPU % is computed from.
STATS_INTERVAL = 0.5
#: Output kept from one exec (a runaway command must not exhaust the agent's memory).
EXEC_OUTPUT_LIMIT = 1024 * 1024


class Engine(ResourcesMixin, SwarmMixin):
    """One Docker engine, given by its ``docker_host`` URL (``unix:///path``)."""

    def __init__(
        self, docker_host: str, *, agent_version: str = "", agent_commit: str | None = None
    ) -> None:
        super().__init__(docker_host)
        self.agent_version = agent_version
        self.agent_commit = agent_commit

    # ------------------------------------------------------------------ engine
    async def ping(self) -> None:
        """Return if the engine answers, else raise NodeUnreachableError."""
        await self.request("GET", "_ping", versioned=False)

    async def agent_info(self) -> AgentInfo:
        """The host and engine as AgentInfo (engine_state "up": it answered)."""
        info, version = await asyncio.gather(
            self.request("GET", "info"), self.request("GET", "version", versioned=False)
        )
        found = convert.agent_info(info, version, self.agent_version, self.agent_commit)
        return found.model_copy(update={"ipvs": kernel_has_ipvs()})

    @contextlib.asynccontextmanager
    async def events(self) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Open the engine's event stream (containers and daemon); yield its events."""
        filters = {"type": ["container", "daemon", "node"]}
        async with self.stream("GET", "events", params={"filters": filters}) as response:

            async def read() -> AsyncIterator[dict[str, Any]]:
                with self.errors():
                    async for raw in response.content:
                        if raw.strip():
                            yield json.loads(raw)

            yield read()

    # -------------------------------------------------------------- containers
    async def _summaries(self, filters: Mapping[str, list[str]] | None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"all": True}
        if filters:
            params["filters"] = dict(filters)
        result: list[dict[str, Any]] = await self.request("GET", "containers/json", params=params)
        return result

    async def _inspect_or_none(self, container_id: str) -> dict[str, Any] | None:
        try:
            return await self.inspect_container(container_id)
        except NotFoundError:
            return None

    async def list_containers(self) -> list[EngineContainer]:
        """Every container of the engine (running or not)."""
        summaries = await self._summaries(None)
        inspects = await asyncio.gather(*(self._inspect_or_none(s["Id"]) for s in summaries))
        return [
            convert.engine_container(summary, inspect)
            for summary, inspect in zip(summaries, inspects, strict=True)
            if inspect is not None
        ]

    async def container(self, ref: str) -> EngineContainer | None:
        """One container by id, id prefix or name; None if it does not exist (any more)."""
        inspect = await self._inspect_or_none(ref)
        if inspect is None:
            return None
        summaries = await self._summaries({"id": [inspect["Id"]]})
        for summary in summaries:
            if summary["Id"] == inspect["Id"]:
                return convert.engine_container(summary, inspect)
        return None

    async def inspect_container(self, ref: str) -> dict[str, Any]:
        """Docker's raw inspect JSON of a container."""
        result: dict[str, Any] = await self.request("GET", f"containers/{ref}/json")
        return result

    async def container_action(
        self, ref: str, action: str, *, timeout: int | None = None, signal: str | None = None
    ) -> None:
        """Start, stop, restart, kill, pause or unpause a container."""
        if action not in CONTAINER_ACTIONS:
            raise InvalidInputError(f"unknown container action {action!r}")
        params: dict[str, Any] = {}
        if action in ("stop", "restart") and timeout is not None:
            params["t"] = timeout
        if action == "kill" and signal:
            params["signal"] = signal
        await self.request("POST", f"containers/{ref}/{action}", params=params)

    async def remove_container(self, ref: str, *, force: bool, volumes: bool) -> None:
        """Remove a container."""
        await self.request("DELETE", f"containers/{ref}", params={"force": force, "v": volumes})

    async def rename_container(self, ref: str, name: str) -> None:
        """Rename a container."""
        await self.request("POST", f"containers/{ref}/rename", params={"name": name})

    # ------------------------------------------------------- logs, stats, exec
    @contextlib.asynccontextmanager
    async def logs(
        self,
        ref: str,
        *,
        tail: str | None = None,
        since: str | None = None,
        timestamps: bool = False,
        follow: bool = False,
        service: bool = False,
    ) -> AsyncIterator[AsyncIterator[LogLine]]:
        """Open a container's (or, with ``service``, a Swarm service's) logs.

        Errors (no such container…) are raised on entering, before anything is yielded, so
        that the API can still answer with an error status.
        """
        if service:
            spec = (await self.service(ref)).get("Spec") or {}
            tty = bool(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("TTY"))
            path = f"services/{ref}/logs"
        else:
            tty = bool(((await self.inspect_container(ref)).get("Config") or {}).get("Tty"))
            path = f"containers/{ref}/logs"
        params = {
            "stdout": True,
            "stderr": True,
            "tail": tail or "all",
            "since": since,
            "timestamps": timestamps,
            "follow": follow,
        }
        async with self.stream("GET", path, params=params, swarm=service) as response:
            yield log_lines(response.content, tty=tty, timestamps=timestamps)

    async def _one_shot_stats(self, ref: str) -> dict[str, Any]:
        params = {"stream": False, "one-shot": True}
        result: dict[str, Any] = await self.request("GET", f"containers/{ref}/stats", params=params)
        return result

    async def stats(self, ref: str) -> ContainerStats:
        """A one-shot resource reading (CPU % over :data:`STATS_INTERVAL` seconds)."""
        first = await self._one_shot_stats(ref)
        await asyncio.sleep(STATS_INTERVAL)
        second = await self._one_shot_stats(ref)
        return convert.container_stats(first, second)

    async def exec_exit_code(self, exec_id: str) -> int | None:
        """The exit code of an exec whose output has ended (None if the engine does not say).

        The output stream ends as the process exits; the engine may record the exit code a
        moment later, so this asks again for up to 2.5 s.
        """
        for _ in range(50):
            result = await self.request("GET", f"exec/{exec_id}/json")
            if not result.get("Running"):
                code = result.get("ExitCode")
                return int(code) if code is not None else None
            await asyncio.sleep(0.05)
        return None

    async def exec(
        self,
        ref: str,
        cmd: Sequence[str],
        *,
        user: str | None = None,
        workdir: str | None = None,
        env: Sequence[str] | None = None,
    ) -> ExecResult:
        """Run a command in a running container; wait for it; return its output and exit code."""
        config: dict[str, Any] = {
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": False,
            "Cmd": list(cmd),
        }
        if user:
            config["User"] = user
        if workdir:
            config["WorkingDir"] = workdir
        if env:
            config["Env"] = list(env)
        created = await self.request("POST", f"containers/{ref}/exec", body=config)
        exec_id = created["Id"]
        output = bytearray()
        start = json.dumps({"Detach": False, "Tty": False})
        async with self.stream("POST", f"exec/{exec_id}/start", body=start) as response:
            async for _, data in demultiplex(response.content, tty=False):
                if len(output) < EXEC_OUTPUT_LIMIT:
                    output += data[: EXEC_OUTPUT_LIMIT - len(output)]
        exit_code = await self.exec_exit_code(exec_id)
        return ExecResult(
            exit_code=exit_code if exit_code is not None else -1,
            output=output.decode("utf-8", "replace"),
        )
