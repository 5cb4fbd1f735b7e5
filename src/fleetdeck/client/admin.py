"""Client methods for the server's own resources: login, users, tokens, audit, environments."""

from __future__ import annotations

from typing import Any, Literal, overload

from fleetdeck.client.base import BaseClient, parse, parse_list, quote_segment
from fleetdeck.wire.admin import AuditPage, Health
from fleetdeck.wire.auth import ApiToken, CreatedToken, LoginResult, Me, Role, User
from fleetdeck.wire.fleet import EnrolResult, Environment, EnvironmentCreated, JoinToken


class AdminAPI(BaseClient):
    """Routes about who may do what, and which environments make up the fleet."""

    def health(self) -> Health:
        """``GET /health``: whether the server answers, and its version."""
        return parse(Health, self._request("GET", "/health"))

    def ca_pem(self) -> str:
        """``GET /ca``: the fleetdeck CA certificate (PEM), to verify the server and agents."""
        return self._get_text("/ca")

    def login(self, username: str, password: str) -> LoginResult:
        """``POST /auth/login``: a short-lived session token for a username and password."""
        body = {"username": username, "password": password}
        return parse(LoginResult, self._request("POST", "/auth/login", json_body=body))

    def logout(self) -> None:
        """``POST /auth/logout``: end the session whose token this client sends."""
        self._request("POST", "/auth/logout")

    def me(self) -> Me:
        """``GET /auth/me``: the user behind this client's token."""
        data = self._request("GET", "/auth/me")
        if isinstance(data, dict) and isinstance(data.get("user"), dict):
            data = data["user"]
        return parse(Me, data)

    def list_users(self) -> list[User]:
        """``GET /users``."""
        return parse_list(User, self._request("GET", "/users"))

    def create_user(self, username: str, password: str, role: Role = Role.viewer) -> User:
        """``POST /users``."""
        body = {"username": username, "password": password, "role": role.value}
        return parse(User, self._request("POST", "/users", json_body=body))

    def update_user(
        self,
        username: str,
        *,
        role: Role | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> User:
        """``PATCH /users/{username}``: change only the fields given."""
        body: dict[str, Any] = {}
        if role is not None:
            body["role"] = role.value
        if disabled is not None:
            body["disabled"] = disabled
        if password is not None:
            body["password"] = password
        path = f"/users/{quote_segment(username)}"
        return parse(User, self._request("PATCH", path, json_body=body))

    def delete_user(self, username: str) -> None:
        """``DELETE /users/{username}``."""
        self._request("DELETE", f"/users/{quote_segment(username)}")

    def list_tokens(self, user: str | None = None) -> list[ApiToken]:
        """``GET /tokens``: one's own tokens (an admin may see everyone's, or ``user``'s)."""
        return parse_list(ApiToken, self._request("GET", "/tokens", params={"user": user}))

    def create_token(
        self, name: str, role: Role | None = None, expires_in_days: int | None = None
    ) -> CreatedToken:
        """``POST /tokens``: a new API token; its secret is in the reply and nowhere else."""
        body: dict[str, Any] = {"name": name}
        if role is not None:
            body["role"] = role.value
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        return parse(CreatedToken, self._request("POST", "/tokens", json_body=body))

    def revoke_token(self, token_id: str) -> None:
        """``DELETE /tokens/{id}``."""
        self._request("DELETE", f"/tokens/{quote_segment(token_id)}")

    def audit(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
    ) -> AuditPage:
        """``GET /audit``: a page of the audit log."""
        params = {
            "limit": limit,
            "offset": offset,
            "actor": actor,
            "action": action,
            "target": target,
        }
        return parse(AuditPage, self._request("GET", "/audit", params=params))

    def list_environments(self) -> list[Environment]:
        """``GET /environments``."""
        return parse_list(Environment, self._request("GET", "/environments"))

    @overload
    def create_environment(
        self,
        name: str,
        tags: list[str] | None = None,
        groups: list[str] | None = None,
        *,
        kind: Literal["agent"] = "agent",
        docker_host: None = None,
    ) -> JoinToken: ...

    @overload
    def create_environment(
        self,
        name: str,
        tags: list[str] | None = None,
        groups: list[str] | None = None,
        *,
        kind: Literal["local"],
        docker_host: str | None = None,
    ) -> EnvironmentCreated: ...

    def create_environment(
        self,
        name: str,
        tags: list[str] | None = None,
        groups: list[str] | None = None,
        *,
        kind: Literal["agent", "local"] = "agent",
        docker_host: str | None = None,
    ) -> JoinToken | EnvironmentCreated:
        """``POST /environments``.

        An ``agent`` environment comes with its first join token and agent command (the
        answer is read as a :class:`JoinToken`, whose token is never null). A
        ``local`` one is the engine at ``docker_host`` (a unix socket on the server's host;
        the server's default is ``unix:///var/run/docker.sock``), whose agent the server runs
        itself: it has no join token.
        """
        body: dict[str, Any] = {"name": name}
        if kind != "agent":
            body["kind"] = kind
        if docker_host is not None:
            body["docker_host"] = docker_host
        if tags:
            body["tags"] = tags
        if groups:
            body["groups"] = groups
        data = self._request("POST", "/environments", json_body=body)
        if kind == "local":
            return parse(EnvironmentCreated, data)
        return parse(JoinToken, data)

    def get_environment(self, name: str) -> Environment:
        """``GET /environments/{env}``: with its nodes."""
        return parse(Environment, self._request("GET", f"/environments/{quote_segment(name)}"))

    def update_environment(
        self, name: str, tags: list[str] | None = None, groups: list[str] | None = None
    ) -> Environment:
        """``PATCH /environments/{env}``: replace tags and/or groups."""
        body: dict[str, Any] = {}
        if tags is not None:
            body["tags"] = tags
        if groups is not None:
            body["groups"] = groups
        path = f"/environments/{quote_segment(name)}"
        return parse(Environment, self._request("PATCH", path, json_body=body))

    def delete_environment(self, name: str) -> None:
        """``DELETE /environments/{env}``: also revokes its agents' certificates."""
        self._request("DELETE", f"/environments/{quote_segment(name)}")

    def create_join_token(self, name: str) -> JoinToken:
        """``POST /environments/{env}/join-tokens``: a token for one more agent."""
        path = f"/environments/{quote_segment(name)}/join-tokens"
        return parse(JoinToken, self._request("POST", path))

    def enrol(self, join_token: str, csr_pem: str, listen_url: str, hostname: str) -> EnrolResult:
        """``POST /agents/enrol``: trade a join token and a CSR for a certificate."""
        body = {
            "join_token": join_token,
            "csr_pem": csr_pem,
            "listen_url": listen_url,
            "hostname": hostname,
        }
        return parse(EnrolResult, self._request("POST", "/agents/enrol", json_body=body))
