"""Client methods for the fleet's containers: list, inspect, act, logs, stats, exec, create.

A container ref is ``ENV/NAME``, ``ENV/ID-PREFIX`` or a fleet-unique id prefix; it is sent
URL-quoted as one path segment and the server resolves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.client.base import BaseClient, parse, quote_segment, raise_if_stream_error
from fleetdeck.wire.containers import (
    ActionResult,
    ContainerPage,
    ContainerStats,
    CreateResult,
    ExecResult,
    LogLine,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.container_spec import ContainerSpec

#: Actions ``POST /containers/{ref}/{action}`` accepts.
CONTAINER_ACTIONS = ("start", "stop", "restart", "kill", "pause", "unpause")


def _path(ref: str, suffix: str = "") -> str:
    return f"/containers/{quote_segment(ref)}{suffix}"


def log_lines(items: Iterator[dict[str, Any]]) -> Iterator[LogLine]:
    """Turn an NDJSON log stream into LogLines, raising an error the stream reports."""
    for item in items:
        raise_if_stream_error(item)
        yield parse(LogLine, item)


class ContainersAPI(BaseClient):
    """Routes under ``/containers``."""

    def list_containers(
        self,
        *,
        environment: str | None = None,
        node: str | None = None,
        state: str | None = None,
        labels: list[str] | None = None,
        stack: str | None = None,
        name: str | None = None,
        health: str | None = None,
        sort: str | None = None,
        order: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> ContainerPage:
        """``GET /containers``: a filtered, sorted page of the fleet's containers.

        Args:
            environment: Only this environment.
            node: Only this node.
            state: Only this state (running, exited…).
            labels: ``K`` or ``K=V`` filters, all of which must match.
            stack: Only this compose/stack project.
            name: Only names containing this.
            health: Only this health (healthy, unhealthy, starting).
            sort: name, environment, node, state, image or created.
            order: asc or desc.
            limit: Page size.
            offset: Page start.
        """
        params: list[tuple[str, Any]] = [
            ("environment", environment),
            ("node", node),
            ("state", state),
            ("stack", stack),
            ("name", name),
            ("health", health),
            ("sort", sort),
            ("order", order),
            ("limit", limit),
            ("offset", offset),
        ]
        params += [("label", label) for label in labels or []]
        return parse(ContainerPage, self._request("GET", "/containers", params=params))

    def inspect_container(self, ref: str) -> dict[str, Any]:
        """``GET /containers/{ref}``: Docker's inspect document for the container."""
        data = self._request("GET", _path(ref))
        return data if isinstance(data, dict) else {"value": data}

    def container_action(
        self, ref: str, action: str, *, timeout: int | None = None, signal: str | None = None
    ) -> ActionResult:
        """``POST /containers/{ref}/{action}`` for one of :data:`CONTAINER_ACTIONS`.

        Args:
            ref: Container ref.
            action: start, stop, restart, kill, pause or unpause.
            timeout: Seconds stop/restart waits before killing (sent as ``t``).
            signal: Signal kill sends.
        """
        params = {"t": timeout, "signal": signal}
        data = self._request("POST", _path(ref, f"/{action}"), params=params)
        return parse(ActionResult, data or {})

    def start_container(self, ref: str) -> ActionResult:
        """Start a container."""
        return self.container_action(ref, "start")

    def stop_container(self, ref: str, timeout: int | None = None) -> ActionResult:
        """Stop a container, killing it after ``timeout`` seconds."""
        return self.container_action(ref, "stop", timeout=timeout)

    def restart_container(self, ref: str, timeout: int | None = None) -> ActionResult:
        """Restart a container."""
        return self.container_action(ref, "restart", timeout=timeout)

    def kill_container(self, ref: str, signal: str | None = None) -> ActionResult:
        """Send a container a signal (SIGKILL by default)."""
        return self.container_action(ref, "kill", signal=signal)

    def pause_container(self, ref: str) -> ActionResult:
        """Freeze a container's processes."""
        return self.container_action(ref, "pause")

    def unpause_container(self, ref: str) -> ActionResult:
        """Thaw a paused container."""
        return self.container_action(ref, "unpause")

    def remove_container(self, ref: str, *, force: bool = False) -> ActionResult:
        """``DELETE /containers/{ref}``; ``force`` removes a running one."""
        data = self._request("DELETE", _path(ref), params={"force": force or None})
        return parse(ActionResult, data or {})

    def rename_container(self, ref: str, name: str) -> ActionResult:
        """``POST /containers/{ref}/rename``."""
        data = self._request("POST", _path(ref, "/rename"), json_body={"name": name})
        return parse(ActionResult, data or {})

    def logs(
        self,
        ref: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        since: str | None = None,
        timestamps: bool = False,
    ) -> Iterator[LogLine]:
        """``GET /containers/{ref}/logs``: yield lines as they arrive (forever with ``follow``).

        Args:
            ref: Container ref.
            follow: Keep the stream open and yield new lines as the container writes them.
            tail: Only the last N lines.
            since: Only lines since this time (RFC 3339 or UNIX seconds, or a duration like 10m).
            timestamps: Ask the server to fill in each line's time.
        """
        params = {
            "follow": follow or None,
            "tail": tail,
            "since": since,
            "timestamps": timestamps or None,
        }
        yield from log_lines(self._stream("GET", _path(ref, "/logs"), params=params, follow=follow))

    def stats(self, ref: str) -> ContainerStats:
        """``GET /containers/{ref}/stats``: one resource reading."""
        return parse(ContainerStats, self._request("GET", _path(ref, "/stats")))

    def exec(self, ref: str, cmd: list[str]) -> ExecResult:
        """``POST /containers/{ref}/exec``: run a command to completion; its output and code."""
        data = self._request("POST", _path(ref, "/exec"), json_body={"cmd": cmd})
        return parse(ExecResult, data)

    def recreate_container(
        self, ref: str, *, pull: bool = False, timeout: int | None = None
    ) -> ActionResult:
        """``POST /containers/{ref}/recreate``: same configuration, a new container."""
        body: dict[str, Any] = {"pull": pull}
        if timeout is not None:
            body["timeout"] = timeout
        data = self._request("POST", _path(ref, "/recreate"), json_body=body, timeout=900)
        return parse(ActionResult, data or {})

    def create_container(
        self, environment: str, spec: ContainerSpec, *, node: str | None = None
    ) -> CreateResult:
        """``POST /containers``: create (and start) a container from ``spec``."""
        body: dict[str, Any] = {"environment": environment, "spec": spec.model_dump(mode="json")}
        if node is not None:
            body["node"] = node
        data = self._request("POST", "/containers", json_body=body, timeout=900)
        return parse(CreateResult, data)
