"""Client methods for ``/stacks``: definitions, diff, deploy/rollback streams, variables.

Deploy and rollback yield the stream's objects as they come: first ``{"type": "plan"}``,
then ``{"type": "progress"}`` events, last ``{"type": "result", ok, message, rolled_back,
revision}``. A request the server rejects raises before the first object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.client.base import BaseClient, quote_segment

if TYPE_CHECKING:
    from collections.abc import Iterator


def _definition(
    environment: str | None,
    files: list[dict[str, str]] | None,
    env_file: str | None,
    variables: dict[str, str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"variables": variables} if variables else {}
    if environment is not None:
        body["environment"] = environment
    if files is not None:
        body["files"] = files
    if env_file is not None:
        body["env_file"] = env_file
    return body


#: Diffs and removals wait on the node's engine and registry: longer than a plain request.
LONG_S = 300.0


class StacksAPI(BaseClient):
    """Routes under ``/stacks``."""

    def _stack(self, name: str) -> str:
        return f"/stacks/{quote_segment(name)}"

    def list_stacks(self, environment: str | None = None) -> list[dict[str, Any]]:
        """``GET /stacks``: managed stacks and the ones found running (of one environment)."""
        params = {"environment": environment} if environment else None
        result: list[dict[str, Any]] = self._request("GET", "/stacks", params=params)
        return result

    def get_stack(self, name: str) -> dict[str, Any]:
        """``GET /stacks/{name}`` (secret variable values are null)."""
        result: dict[str, Any] = self._request("GET", self._stack(name))
        return result

    def validate_stack(
        self,
        files: list[dict[str, str]],
        env_file: str | None = None,
        variables: dict[str, str] | None = None,
        stack: str | None = None,
    ) -> dict[str, Any]:
        """``POST /stacks/validate``: ``{ok, services, warnings, project}`` or ``{ok, errors}``.

        With ``stack``, that stack's stored variables count (secrets as set, never read).
        """
        body: dict[str, Any] = {"files": files, "env_file": env_file, "variables": variables or {}}
        if stack is not None:
            body["stack"] = stack
        result: dict[str, Any] = self._request("POST", "/stacks/validate", json_body=body)
        return result

    def save_stack(
        self, name: str, environment: str, files: list[dict[str, str]], env_file: str | None = None
    ) -> dict[str, Any]:
        """``PUT /stacks/{name}``: save a definition (validated; nothing deployed)."""
        body = _definition(environment, files, env_file)
        result: dict[str, Any] = self._request(
            "PUT", self._stack(name), json_body=body, timeout=LONG_S
        )
        return result

    def diff_stack(
        self,
        name: str,
        environment: str | None = None,
        files: list[dict[str, str]] | None = None,
        env_file: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """``POST /stacks/{name}/diff``: ``{changes, findings, notes, image_users, variables}``.

        ``variables``: the caller's shell values of the variables the files use.
        """
        body = _definition(environment, files, env_file, variables)
        path = f"{self._stack(name)}/diff"
        result: dict[str, Any] = self._request("POST", path, json_body=body, timeout=LONG_S)
        return result

    def deploy_stack(
        self,
        name: str,
        environment: str | None = None,
        files: list[dict[str, str]] | None = None,
        env_file: str | None = None,
        strategy: str = "auto",
        variables: dict[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``POST /stacks/{name}/deploy``: the plan, progress events and the result."""
        body = {**_definition(environment, files, env_file, variables), "strategy": strategy}
        return self._stream("POST", f"{self._stack(name)}/deploy", json_body=body)

    def rollback_stack(self, name: str, revision: int | None = None) -> Iterator[dict[str, Any]]:
        """``POST /stacks/{name}/rollback``: like a deploy, of an earlier revision."""
        body = {"revision": revision}
        return self._stream("POST", f"{self._stack(name)}/rollback", json_body=body)

    def stack_drift(self, name: str) -> dict[str, Any]:
        """``GET /stacks/{name}/drift``: per service, what differs from the deployed revision."""
        result: dict[str, Any] = self._request("GET", f"{self._stack(name)}/drift")
        return result

    def set_stack_drift(
        self, name: str, policy: str | None = None, suspended: bool | None = None
    ) -> dict[str, Any]:
        """``PUT /stacks/{name}/drift``: the drift policy (``default``: unset), suspension."""
        body = {k: v for k, v in (("policy", policy), ("suspended", suspended)) if v is not None}
        result: dict[str, Any] = self._request("PUT", f"{self._stack(name)}/drift", json_body=body)
        return result

    def stack_ps(self, name: str) -> list[dict[str, Any]]:
        """``GET /stacks/{name}/ps``."""
        result: list[dict[str, Any]] = self._request("GET", f"{self._stack(name)}/ps")
        return result

    def stack_logs(
        self, name: str, tail: str | None = None, follow: bool = False, service: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET /stacks/{name}/logs``: log lines with ``service`` and ``container``."""
        params = {"tail": tail, "follow": follow, "service": service}
        return self._stream("GET", f"{self._stack(name)}/logs", params=params, follow=follow)

    def stack_history(self, name: str) -> list[dict[str, Any]]:
        """``GET /stacks/{name}/history``: revisions, newest first."""
        result: list[dict[str, Any]] = self._request("GET", f"{self._stack(name)}/history")
        return result

    def stack_revision(self, name: str, revision: int) -> dict[str, Any]:
        """``GET /stacks/{name}/revisions/{rev}``."""
        result: dict[str, Any] = self._request("GET", f"{self._stack(name)}/revisions/{revision}")
        return result

    def remove_stack(self, name: str) -> dict[str, Any]:
        """``DELETE /stacks/{name}``: containers removed (named volumes kept), stack forgotten."""
        result: dict[str, Any] = self._request("DELETE", self._stack(name), timeout=LONG_S)
        return result

    def scale_stack_service(self, name: str, service: str, replicas: int) -> dict[str, Any]:
        """``POST /stacks/{name}/services/{service}/scale``: answers once converged."""
        path = f"{self._stack(name)}/services/{quote_segment(service)}/scale"
        body = {"replicas": replicas}
        result: dict[str, Any] = self._request("POST", path, json_body=body, timeout=LONG_S)
        return result

    def stack_variables(self, name: str) -> list[dict[str, Any]]:
        """``GET /stacks/{name}/variables`` (secret values are null)."""
        result: list[dict[str, Any]] = self._request("GET", f"{self._stack(name)}/variables")
        return result

    def set_stack_variable(
        self, name: str, key: str, value: str, secret: bool = False
    ) -> dict[str, Any]:
        """``PUT /stacks/{name}/variables/{key}``."""
        body = {"value": value, "secret": secret}
        path = f"{self._stack(name)}/variables/{quote_segment(key)}"
        result: dict[str, Any] = self._request("PUT", path, json_body=body)
        return result

    def remove_stack_variable(self, name: str, key: str) -> dict[str, Any]:
        """``DELETE /stacks/{name}/variables/{key}``."""
        path = f"{self._stack(name)}/variables/{quote_segment(key)}"
        result: dict[str, Any] = self._request("DELETE", path)
        return result

    def stack_allowances(self, name: str) -> dict[str, Any]:
        """``GET /stacks/{name}/allowances``: dangerous rules allowed for it and its environment."""
        result: dict[str, Any] = self._request("GET", f"{self._stack(name)}/allowances")
        return result

    def set_stack_allowances(self, name: str, rules: list[str]) -> dict[str, Any]:
        """``PUT /stacks/{name}/allowances`` (admin): allow exactly ``rules`` for the stack."""
        path = f"{self._stack(name)}/allowances"
        result: dict[str, Any] = self._request("PUT", path, json_body={"rules": rules})
        return result

    def environment_allowances(self, environment: str) -> dict[str, Any]:
        """``GET /environments/{env}/stack-allowances``."""
        path = f"/environments/{quote_segment(environment)}/stack-allowances"
        result: dict[str, Any] = self._request("GET", path)
        return result

    def set_environment_allowances(self, environment: str, rules: list[str]) -> dict[str, Any]:
        """``PUT /environments/{env}/stack-allowances`` (admin): for every stack there."""
        path = f"/environments/{quote_segment(environment)}/stack-allowances"
        result: dict[str, Any] = self._request("PUT", path, json_body={"rules": rules})
        return result
