"""Schemathesis against a throwaway server: no 500s, and every answer is in the OpenAPI document.

Issue #11 (findings 12 and 14). The server is a real ``fleetdeck server`` process over
HTTPS on loopback with a data dir of its own (no agents, no lab: nothing the fuzzer deletes
or revokes exists outside this run). Every documented operation is called with generated
valid and invalid input, as an admin, and each response is checked for: not a server error,
a documented status code, content type, headers and body schema.

What is kept from the fuzzer, and why (nothing else is):

* ``POST /environments`` with ``kind: local``: the server would run an agent on this
  machine's own Docker engine, shared with other work; the case is sent with a socket path
  inside the run's directory instead, so the route is still exercised (and refuses it).
* ``PATCH``/``DELETE /users/{username}`` on the run's own admin, and ``DELETE
  /tokens/{token_id}`` on the run's own token: they would lock the rest of the run out.
  Other users and tokens (random names, or made for the run) are fair game.
* ``POST /backups/targets`` with an SFTP or S3 address: a backup to it would reach a host
  outside the run; the case is sent with a closed port on loopback instead. (A directory
  target must exist and be empty or a repository already, so generated paths are refused.)
* ``POST /repos`` and ``PUT /stacks/{name}/source`` with a repository URL: a sync (``git
  ls-remote``) would reach a host outside the run; the case is sent with a closed port on
  loopback instead (the sync fails at once and the route answers its result).
* ``GET /events`` and ``GET /logs/tail``: endless streams (server-sent events, a live log
  tail) that only end when the client goes; schemathesis reads a whole body before checking
  it, so each call would sit until the client timeout and the check would see a timeout,
  not an answer. Finite streams (``follow=false`` logs, pulls) are still run.

Bounded and deterministic: two examples per operation and mode, derandomized (the same cases
every run), Hypothesis deadline off (the machine is shared); about 300 calls in about a
minute on a loaded 2-core machine (the test prints the figures).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.core.result import Ok

from tests.integration.test_server_process import (
    ADMIN_PASSWORD,
    fleetdeck,
    free_port,
    https_client,
    running_server,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from schemathesis import APIOperation, Case
    from schemathesis.schemas import BaseSchema

#: Examples per operation (valid and invalid input together).
MAX_EXAMPLES = int(os.environ.get("FLEETDECK_SCHEMATHESIS_EXAMPLES", "2"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


class Run:
    """The throwaway server of this module, and the run's own credentials."""

    def __init__(self, base_url: str, ca_file: Path, token: str, token_id: str, root: Path):
        self.base_url = base_url
        self.ca_file = ca_file
        self.token = token
        self.token_id = token_id
        self.root = root
        self.started = time.monotonic()
        self.calls = 0


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("schemathesis")
    data_dir, log, port = root / "server", root / "server.log", free_port()
    with running_server(data_dir, port, log):
        ca = fleetdeck("server", "ca", "--data-dir", str(data_dir))
        ca_file = root / "ca.pem"
        ca_file.write_text(ca.stdout)
        with https_client(ca_file, port) as client:
            login = client.post(
                "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            session = {"Authorization": f"Bearer {login.json()['token']}"}
            made = client.post("/api/v1/tokens", json={"name": "fuzzer"}, headers=session)
            assert made.status_code == 201, made.text
            # Throwaway objects for destructive routes to act on.
            for user in ("fuzz-viewer", "fuzz-operator"):
                client.post(
                    "/api/v1/users",
                    json={"username": user, "password": "fuzz-password-1",
                          "role": user.removeprefix("fuzz-")},
                    headers=session,
                )  # fmt: skip
            client.post("/api/v1/environments", json={"name": "fuzz-env"}, headers=session)
        yield Run(
            f"https://127.0.0.1:{port}", ca_file, made.json()["token"], made.json()["id"], root
        )
        assert "Traceback" not in log.read_text(), log.read_text()[-5000:]


@pytest.fixture(scope="module")
def api_schema(run: Run) -> BaseSchema:
    with https_client(run.ca_file, int(run.base_url.rsplit(":", 1)[1])) as client:
        document = client.get(
            "/api/openapi.json", headers={"Authorization": f"Bearer {run.token}"}
        ).json()
    return schemathesis.openapi.from_dict(document)


def _keep_the_run_alive(case: Case[Any], run: Run) -> None:
    """Refuse the few cases that would end the run or reach outside it (module docstring)."""
    path, method = case.operation.path, case.method.upper()
    params = case.path_parameters or {}
    if path == "/api/v1/users/{username}" and method in ("PATCH", "DELETE"):
        assume(params.get("username") != "admin")
    if path == "/api/v1/tokens/{token_id}" and method == "DELETE":
        assume(params.get("token_id") != run.token_id)
    if path == "/api/v1/environments" and method == "POST" and isinstance(case.body, dict):
        if case.body.get("kind") == "local":
            case.body["docker_host"] = f"unix://{run.root}/no-engine-here.sock"
    if path == "/api/v1/backups/targets" and method == "POST" and isinstance(case.body, dict):
        destination = case.body.get("destination")
        if isinstance(destination, str) and destination.startswith(("sftp:", "s3:")):
            case.body["destination"] = "sftp://fuzz@127.0.0.1:1/nowhere"  # refused at once
    repo_field = {"/api/v1/repos": "url", "/api/v1/stacks/{name}/source": "repo"}.get(path)
    if repo_field and method in ("POST", "PUT") and isinstance(case.body, dict):
        given = case.body.get(repo_field)
        if isinstance(given, str) and any(c in given for c in "/:@"):  # a URL, not a name
            case.body[repo_field] = "http://127.0.0.1:1/fuzz.git"  # refused at once


def _probe(operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, run: Run) -> None:
    """Call ``operation`` with ``MAX_EXAMPLES`` generated cases; raise on the first failure."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # a failure is reported as found, unshrunk
    )
    def probe(case: Case[Any]) -> None:
        _keep_the_run_alive(case, run)
        run.calls += 1
        case.call_and_validate(
            base_url=run.base_url,
            headers={"Authorization": f"Bearer {run.token}"},
            checks=CHECKS,
            verify=str(run.ca_file),
            timeout=10,
        )

    probe()


def test_the_api_answers_as_documented_and_never_500(run: Run, api_schema: BaseSchema) -> None:
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"an operation the fuzzer cannot read: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        if operation.path in ("/api/v1/events", "/api/v1/logs/tail"):
            continue  # endless streams (module docstring)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _probe(operation, mode, run)
            except Unsatisfiable:
                continue  # nothing invalid to generate (e.g. no parameters at all)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - schemathesis raises a group of failures
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    elapsed = time.monotonic() - run.started
    print(f"schemathesis: {operations} operations, {run.calls} calls in {elapsed:.0f} s")
    assert operations > 90
    assert not failures, "\n\n".join(failures)
