"""Asking registries which digest a tag points at: authenticated ``HEAD`` requests only.

``HEAD /v2/<repository>/manifests/<tag>`` with the Accept headers of an OCI index, a
Docker manifest list and single manifests answers the digest in ``Docker-Content-Digest``
without a body (on Docker Hub a HEAD is not counted as a pull, a GET is). A 401 names how
to authenticate in ``WWW-Authenticate``: ``Bearer`` (ask the realm for a pull token with the
registry's credentials, if any, and keep it for its lifetime) or ``Basic``.

What keeps a fleet polite with its registries:

- **one request per image reference** per round: callers group every container and service
  by reference first, and an answer is cached for ``cache_s``;
- a **rate budget** per registry (a token bucket: ``budget`` requests per minute); a
  reference over budget is answered ``deferred`` and asked in a later round;
- **backoff** per registry after a 429, a 5xx or no answer: nothing is sent to it until
  the backoff (doubling to ``backoff_max_s``, at least the ``Retry-After`` it sent) is over.
"""

from __future__ import annotations

import base64
import logging
import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from fleetdeck.server.updates.references import is_digest

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fleetdeck.clock import Clock
    from fleetdeck.server.updates.references import ImageRef

    #: ``async (registry host) -> {"username", "password"} | None``.
    Credentials = Callable[[str], Awaitable[dict[str, str] | None]]
    #: ``async (registry host) -> True`` when it is spoken to over plain HTTP.
    Insecure = Callable[[str], Awaitable[bool]]

log = logging.getLogger("fleetdeck.server.updates")

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)
#: A token answer larger than this is refused (they are a few KiB).
MAX_TOKEN_BODY = 64 * 1024
MAX_HEADER = 4096
_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')


class Outcome:
    """What an :class:`Answer` says (strings: they are stored and shown)."""

    ok = "ok"
    #: Not asked this round (rate budget spent or the registry is in backoff).
    deferred = "deferred"
    #: The registry answered but not with a digest (404, 401 with bad credentials…).
    error = "error"
    #: 429, 5xx or no answer: the registry backs off.
    unavailable = "unavailable"


@dataclass
class Answer:
    """The registry's answer about one reference."""

    outcome: str
    digest: str | None = None
    message: str = ""
    at: float = 0.0
    #: Seconds the registry asked to be left alone (``Retry-After``).
    retry_after: float = 0.0


@dataclass
class _Registry:
    tokens: float
    refilled_at: float
    failures: int = 0
    closed_until: float = 0.0
    #: Whether the last request went over plain HTTP (a backoff earned over the other scheme
    #: ends when the registry is marked plain HTTP or back, e.g. just after being added).
    insecure: bool | None = None
    #: Requests sent, by kind (``head``, ``token``): the bench and ``updates ls`` read them.
    sent: dict[str, int] = field(default_factory=lambda: {"head": 0, "token": 0})


class RegistryChecker:
    """Digests of tags, with a cache, a rate budget and backoff per registry.

    Args:
        http: The HTTP client (closed by whoever made it).
        credentials: The registry's username and password (the registries part), if any.
        insecure: Whether a registry is spoken to over plain HTTP (else HTTPS).
        clock: The present (backoff, budget and cache use its ``time()``).
        budget: Requests per minute per registry.
        cache_s: How long an answer is reused without asking again.
        backoff_s: The first backoff after a failure (doubled after each one in a row).
        backoff_max_s: The longest backoff.
        timeout_s: Per request.
        rng: Jitter of the backoff.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: Credentials,
        insecure: Insecure,
        clock: Clock,
        *,
        budget: int = 60,
        cache_s: float = 300.0,
        backoff_s: float = 30.0,
        backoff_max_s: float = 3600.0,
        timeout_s: float = 15.0,
        rng: random.Random | None = None,
    ) -> None:
        self.http = http
        self._credentials = credentials
        self._insecure = insecure
        self.clock = clock
        self.budget, self.cache_s = budget, cache_s
        self.backoff_s, self.backoff_max_s, self.timeout_s = backoff_s, backoff_max_s, timeout_s
        self._rng = rng or random.Random()  # noqa: S311 - spreading retries, not secrets
        self._registries: dict[str, _Registry] = {}
        self._cache: dict[str, Answer] = {}
        #: Bearer tokens by (registry, repository): (token, expires at).
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    # ------------------------------------------------------------ figures
    def sent(self, registry: str | None = None) -> dict[str, int]:
        """Requests sent so far (``head``, ``token``), for one registry or all."""
        rows = [self._registries[registry]] if registry in self._registries else []
        if registry is None:
            rows = list(self._registries.values())
        return {k: sum(r.sent[k] for r in rows) for k in ("head", "token")}

    def registries(self) -> list[str]:
        """Every registry asked so far."""
        return sorted(self._registries)

    def backoff(self, registry: str) -> float | None:
        """When (clock time) a registry in backoff is asked again; None when it is not."""
        state = self._registries.get(registry)
        if state is None or state.closed_until <= self.clock.time():
            return None
        return state.closed_until

    def forget(self, ref: ImageRef) -> None:
        """Drop the cached answer of ``ref`` (a forced check asks again)."""
        self._cache.pop(ref.name, None)

    # ------------------------------------------------------------ checking
    def _state(self, registry: str, now: float) -> _Registry:
        state = self._registries.get(registry)
        if state is None:
            state = self._registries[registry] = _Registry(float(self.budget), now)
        elapsed = max(0.0, now - state.refilled_at)
        state.tokens = min(float(self.budget), state.tokens + elapsed * self.budget / 60.0)
        state.refilled_at = now
        return state

    async def digest(self, ref: ImageRef, *, fresh: bool = False) -> Answer:
        """The digest ``ref``'s tag points at now (or why it is not known)."""
        now = self.clock.time()
        cached = self._cache.get(ref.name)
        if cached is not None and not fresh and now - cached.at < self.cache_s:
            return cached
        state = self._state(ref.registry, now)
        if state.closed_until > now and state.insecure is not None:
            if await self._insecure(ref.registry) != state.insecure:
                state.failures, state.closed_until = 0, 0.0
        if state.closed_until > now:
            wait = round(state.closed_until - now)
            return Answer(Outcome.deferred, message=f"{ref.registry} backs off for {wait} s")
        if state.tokens < 1:
            return Answer(Outcome.deferred, message=f"rate budget of {ref.registry} spent")
        try:
            answer = await self._ask(ref, state)
        except httpx.HTTPError as exc:
            answer = Answer(Outcome.unavailable, message=f"{ref.registry}: {_why(exc)}")
        answer.at = now
        if answer.outcome == Outcome.unavailable:
            self._close(state, answer, answer.retry_after)
            return answer
        state.failures, state.closed_until = 0, 0.0
        self._cache[ref.name] = answer
        return answer

    def _close(self, state: _Registry, answer: Answer, retry_after: float = 0.0) -> None:
        state.failures += 1
        delay = min(self.backoff_max_s, self.backoff_s * 2 ** (state.failures - 1))
        delay = max(retry_after, delay * (0.9 + 0.2 * self._rng.random()))
        state.closed_until = self.clock.time() + delay
        answer.message += f"; backing off {round(delay)} s"

    def _url(self, ref: ImageRef, scheme: str) -> str:
        return f"{scheme}://{ref.api_host}/v2/{ref.repository}/manifests/{ref.tag}"

    async def _head(self, url: str, state: _Registry, auth: str | None) -> httpx.Response:
        state.tokens -= 1
        state.sent["head"] += 1
        headers = {"Accept": ACCEPT}
        if auth:
            headers["Authorization"] = auth
        return await self.http.head(url, headers=headers, timeout=self.timeout_s)

    async def _ask(self, ref: ImageRef, state: _Registry) -> Answer:
        state.insecure = await self._insecure(ref.registry)
        scheme = "http" if state.insecure else "https"
        url = self._url(ref, scheme)
        token = self._tokens.get((ref.registry, ref.repository))
        auth = f"Bearer {token[0]}" if token and token[1] > self.clock.time() else None
        response = await self._head(url, state, auth)
        if response.status_code == 401:
            auth = await self._authenticate(ref, response, state, secure=scheme == "https")
            if auth is None:
                return Answer(Outcome.error, message=f"{ref.name}: the registry refused access")
            response = await self._head(url, state, auth)
        return self._read(ref, response)

    def _read(self, ref: ImageRef, response: httpx.Response) -> Answer:
        code = response.status_code
        if code == 429 or code >= 500:
            message = f"{ref.registry} answered {code}"
            return Answer(Outcome.unavailable, message=message, retry_after=_retry_after(response))
        if code == 200:
            digest = response.headers.get("Docker-Content-Digest", "")[:MAX_HEADER]
            if is_digest(digest):
                return Answer(Outcome.ok, digest=digest)
            return Answer(Outcome.error, message=f"{ref.name}: no digest in the registry's answer")
        if code == 404:
            return Answer(Outcome.error, message=f"{ref.name}: no such tag in the registry")
        if code in (401, 403):
            return Answer(
                Outcome.error, message=f"{ref.name}: the registry refused access ({code})"
            )
        return Answer(Outcome.error, message=f"{ref.name}: the registry answered {code}")

    async def _authenticate(
        self, ref: ImageRef, response: httpx.Response, state: _Registry, *, secure: bool
    ) -> str | None:
        challenge = response.headers.get("WWW-Authenticate", "")[:MAX_HEADER]
        scheme, _, rest = challenge.partition(" ")
        creds = await self._credentials(ref.registry)
        basic = None
        if creds is not None:
            basic = httpx.BasicAuth(creds["username"], creds.get("password", ""))
        if scheme.lower() == "basic":
            if creds is None:
                return None
            pair = f"{creds['username']}:{creds.get('password', '')}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        if scheme.lower() != "bearer":
            return None
        params = dict(_PARAM_RE.findall(rest))
        realm = params.get("realm", "")
        # Credentials go to a plain-HTTP realm only for a registry that is plain HTTP itself.
        if not realm.startswith(("https://",) if secure else ("https://", "http://")):
            return None
        query = {"service": params.get("service", ""),
                 "scope": params.get("scope") or f"repository:{ref.repository}:pull"}  # fmt: skip
        state.sent["token"] += 1
        async with self.http.stream(
            "GET", realm, params=query, auth=basic, timeout=self.timeout_s
        ) as answer:
            if answer.status_code != 200:
                return None
            body = b""
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_TOKEN_BODY:
                    return None
        try:
            data = httpx.Response(200, content=body).json()
        except ValueError:
            return None
        token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or len(token) > 16384:
            return None
        lifetime = data.get("expires_in", 60)
        lifetime = float(lifetime) if isinstance(lifetime, int | float) else 60.0
        self._tokens[(ref.registry, ref.repository)] = (token, self.clock.time() + lifetime - 5)
        return f"Bearer {token}"


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else 0.0


def _why(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(exc, httpx.ConnectError):
        return "unreachable"
    return type(exc).__name__
