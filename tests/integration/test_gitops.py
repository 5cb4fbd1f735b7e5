"""Stacks from Git on the real lab, from a real Git server on the lab gateway.

The server is nginx + fcgiwrap + ``git http-backend`` with basic auth
(:class:`~fleetdeck.lab.git_server.GitServer`); the lab's fleetdeck server deploys from it.

- a push and a signed webhook redeploy only the stack whose directory changed (of two in one
  repository); a replayed delivery is not acted on; a bad signature is 401;
- without a webhook, the poll (the repository's ``poll_interval_s``, a few seconds here)
  picks a push up; a commit with an invalid Compose file leaves the stack running, shows
  ``FILE:LINE`` in the sync status and fires the alert; the next good commit deploys.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import subprocess
import uuid
from typing import TYPE_CHECKING

import httpx
import pytest

from fleetdeck.lab.git_server import GitServer, GitSSHServer
from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab


def _compose(image: str, version: str) -> str:
    return f"""services:
  web:
    image: {image}
    environment:
      WEB_VERSION: "{version}"
"""


class Work:
    """A working clone that pushes to the lab Git server's bare repository."""

    def __init__(self, path: Path, bare: Path) -> None:
        self.path, self.bare = path, bare
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "test@fleetdeck.lab")
        self.git("config", "user.name", "test")

    def git(self, *args: str) -> str:
        """Run git in the clone; its output."""
        out = subprocess.run(["git", "-C", str(self.path), *args], check=True, text=True,
                             capture_output=True, timeout=60)  # fmt: skip
        return out.stdout.strip()

    def commit(self, files: dict[str, str], message: str) -> str:
        """Write ``files``, commit, push to ``main``; the new commit."""
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-qm", message)
        self.git("push", "-q", str(self.bare), "HEAD:main")
        return self.git("rev-parse", "HEAD")


@pytest.fixture(scope="module")
def git_server(fleet3: LabRecord, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    """The lab's Git server, on the gateway address."""
    with GitServer(tmp_path_factory.mktemp("git-server"), fleet3.gateway) as server:
        yield server


def _add_repo(fleet3: LabRecord, server: GitServer, name: str, poll: int) -> None:
    server.create(name)
    env = server_env(fleet3)
    fleetdeck("repos", "add", name, server.url(name), "-u", server.username, "--token-stdin",
              "--poll-interval", str(poll), env=env, stdin=server.password + "\n")  # fmt: skip


def _ids(node: NodeRecord, stack: str) -> dict[str, str]:
    out = docker(node, "ps", "--filter", f"label=com.docker.compose.project={stack}",
                 "--format", "{{.Names}} {{.ID}}")  # fmt: skip
    return dict(line.split() for line in out.splitlines() if line.strip())


def _version(node: NodeRecord, stack: str) -> str:
    (name,) = [n for n in _ids(node, stack) if "-web-" in n]
    env = docker(node, "inspect", "-f", "{{json .Config.Env}}", name)
    values: dict[str, str] = dict(item.split("=", 1) for item in json.loads(env))
    return values.get("WEB_VERSION", "")


def _deliver(fleet3: LabRecord, repo: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    assert fleet3.server is not None
    url = f"{fleet3.server.url}/api/v1/repos/{repo}/webhook"
    tls = ssl.create_default_context(cafile=fleet3.server.ca_cert)
    return httpx.post(url, content=body, headers=headers, verify=tls, timeout=30)


def test_a_signed_webhook_redeploys_only_the_changed_stack(
    fleet3: LabRecord, git_server: GitServer, tmp_path: Path
) -> None:
    env, node, tag = server_env(fleet3), fleet3.nodes[0], uuid.uuid4().hex[:6]
    repo, alpha, beta = f"hook-{tag}", f"ga{tag}", f"gb{tag}"
    _add_repo(fleet3, git_server, repo, poll=3600)  # no poll during the test but the first
    work = Work(tmp_path / "work", git_server.bare(repo))
    image = fleet3.images["web"]
    first = work.commit({"alpha/compose.yaml": _compose(image, "1"),
                         "beta/compose.yaml": _compose(image, "1")}, "two stacks")  # fmt: skip
    try:
        for stack, path in ((alpha, "alpha"), (beta, "beta")):
            result = fleetdeck_json("stack", "deploy", stack, "--git", repo, "--path", path,
                                    "--env", node.name, env=env)  # fmt: skip
            assert result["result"] == "deployed" and result["commit"] == first, result
        beta_before = _ids(node, beta)
        assert _version(node, alpha) == "1" and beta_before

        second = work.commit({"alpha/compose.yaml": _compose(image, "2")}, "alpha v2")
        body = json.dumps({"ref": "refs/heads/main", "after": second}).encode()
        secret = fleetdeck_json("repos", "webhook", repo, env=env)["secret"]
        signed = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

        bad = _deliver(fleet3, repo, body, {"X-Hub-Signature-256": "sha256=" + "0" * 64})
        assert bad.status_code == 401, bad.text
        assert _deliver(fleet3, repo, body, {}).status_code == 401  # unsigned
        headers = {"X-Hub-Signature-256": signed, "X-GitHub-Delivery": f"d-{tag}"}
        ok = _deliver(fleet3, repo, body, headers)
        assert ok.status_code == 202 and ok.json()["duplicate"] is False, ok.text
        replay = _deliver(fleet3, repo, body, headers)
        assert replay.status_code == 202 and replay.json()["duplicate"] is True

        with client_for(fleet3) as client:
            source = wait_for(
                "alpha deployed from the new commit",
                lambda: (s := client.stack_source(alpha)).commit == second and s or None,
                timeout=90,
            )
            assert source.status == "synced"
            assert {r.commit for r in source.revisions} == {first, second}
            assert _version(node, alpha) == "2"
            untouched = wait_for("beta synced", lambda: (
                s := client.stack_source(beta)).commit == second and s or None)  # fmt: skip
            assert "nothing changed" in untouched.message
            assert [r.revision for r in untouched.revisions] == [1]
        assert _ids(node, beta) == beta_before  # beta's container was not touched
        history = fleetdeck_json("stack", "history", alpha, env=env)
        assert [h["revision"] for h in history] == [2, 1]

        # A stack a user stopped stays stopped: a push to it and a webhook do not start it.
        (beta_container,) = beta_before
        docker(node, "stop", "-t", "1", beta_container)
        third = work.commit({"beta/compose.yaml": _compose(image, "3")}, "beta v3")
        headers = {"X-Hub-Signature-256": signed, "X-GitHub-Delivery": f"e-{tag}"}
        assert _deliver(fleet3, repo, body, headers).status_code == 202
        with client_for(fleet3) as client:
            wait_for("alpha synced to the third commit",
                     lambda: client.stack_source(alpha).commit == third, timeout=60)  # fmt: skip
            stopped = client.stack_source(beta)
            assert "stopped by a user" in stopped.message and stopped.commit == second
        state = docker(node, "inspect", "-f", "{{.State.Status}}", beta_container).strip()
        assert state == "exited"
        synced = fleetdeck_json("stack", "sync", beta, env=env)  # an explicit sync deploys it
        assert synced["result"] == "deployed" and synced["commit"] == third
        assert _version(node, beta) == "3"
    finally:
        for stack in (alpha, beta):
            fleetdeck("stack", "rm", stack, "-y", env=env, check=False)


def test_the_poll_picks_up_a_push_and_an_invalid_commit_keeps_the_stack_running(
    fleet3: LabRecord, git_server: GitServer, tmp_path: Path
) -> None:
    env, node, tag = server_env(fleet3), fleet3.nodes[1], uuid.uuid4().hex[:6]
    repo, stack = f"poll-{tag}", f"gp{tag}"
    _add_repo(fleet3, git_server, repo, poll=2)
    work = Work(tmp_path / "work", git_server.bare(repo))
    image = fleet3.images["web"]
    first = work.commit({"compose.yaml": _compose(image, "1")}, "v1")
    try:
        result = fleetdeck_json("stack", "deploy", stack, "--git", repo, "--env", node.name,
                                env=env)  # fmt: skip
        assert result["commit"] == first
        with client_for(fleet3) as client:
            second = work.commit({"compose.yaml": _compose(image, "2")}, "v2")
            wait_for("the poll to deploy v2",
                     lambda: client.stack_source(stack).commit == second, timeout=60)  # fmt: skip
            assert _version(node, stack) == "2"
            running = _ids(node, stack)

            broken = "services:\n  web:\n    image: " + image + "\n    ports: [[[\n"
            bad = work.commit({"compose.yaml": broken}, "broken")
            failed = wait_for(
                "the sync to fail",
                lambda: (s := client.stack_source(stack)).status == "failed" and s or None,
                timeout=60,
            )
            assert "compose.yaml:" in failed.message, failed.message
            assert failed.commit == second  # still what runs
            assert _ids(node, stack) == running  # the stack keeps running
            alerts = wait_for("the sync alert", lambda: [
                a for a in client.list_alerts(rule="gitops-sync-failed").items
                if a.labels.get("stack") == stack])  # fmt: skip
            assert len(alerts) == 1 and bad != second

            third = work.commit({"compose.yaml": _compose(image, "3")}, "fixed")
            wait_for("the fixed commit deployed",
                     lambda: client.stack_source(stack).commit == third, timeout=60)  # fmt: skip
            assert client.stack_source(stack).status == "synced"
            assert _version(node, stack) == "3"
    finally:
        fleetdeck("stack", "rm", stack, "-y", env=env, check=False)


def test_wrong_credentials_and_an_unknown_ref_are_reported_and_nothing_deploys(
    fleet3: LabRecord, git_server: GitServer, tmp_path: Path
) -> None:
    env, node, tag = server_env(fleet3), fleet3.nodes[2], uuid.uuid4().hex[:6]
    repo, wrong = f"faults-{tag}", f"wrong-{tag}"
    _add_repo(fleet3, git_server, repo, poll=3600)
    Work(tmp_path / "work", git_server.bare(repo)).commit(
        {"compose.yaml": _compose(fleet3.images["web"], "1")}, "v1"
    )
    fleetdeck("repos", "add", wrong, git_server.url(repo), "-u", git_server.username,
              "--token-stdin", env=env, stdin="not-the-password\n")  # fmt: skip
    refused = fleetdeck("stack", "deploy", f"gw{tag}", "--git", wrong, "--env", node.name,
                        env=env, check=False)  # fmt: skip
    assert refused.returncode == 1 and "refused the credentials" in refused.stdout
    assert git_server.password not in refused.stdout + refused.stderr
    unknown = fleetdeck("stack", "deploy", f"gu{tag}", "--git", repo, "--ref", "nope",
                        "--env", node.name, env=env, check=False)  # fmt: skip
    assert unknown.returncode == 1 and "no branch or tag 'nope'" in unknown.stdout
    assert _ids(node, f"gw{tag}") == {} and _ids(node, f"gu{tag}") == {}
    # A first deploy that failed leaves nothing behind: no stack, no source.
    listed = {r["name"]: r for r in fleetdeck_json("repos", "ls", env=env)}
    assert listed[wrong]["auth"] == "token" and listed[wrong]["stacks"] == []
    assert listed[repo]["stacks"] == []
    fleetdeck("repos", "rm", wrong, env=env)


def test_a_stack_deploys_over_ssh_with_a_deploy_key(fleet3: LabRecord, tmp_path: Path) -> None:
    env, node, tag = server_env(fleet3), fleet3.nodes[2], uuid.uuid4().hex[:6]
    repo, stack = f"ssh-{tag}", f"gs{tag}"
    with GitSSHServer(tmp_path / "sshd", fleet3.gateway) as server:
        server.create(repo)
        commit = Work(tmp_path / "work", server.bare(repo)).commit(
            {"compose.yaml": _compose(fleet3.images["web"], "7")}, "v7"
        )
        key = tmp_path / "deploy_key"
        key.write_text(server.deploy_key)
        added = fleetdeck_json("repos", "add", repo, server.url(repo), "--ssh-key", str(key),
                               env=env)  # fmt: skip
        assert added["auth"] == "ssh_key"
        try:
            result = fleetdeck_json("stack", "deploy", stack, "--git", repo, "--env", node.name,
                                    env=env)  # fmt: skip
            assert result["result"] == "deployed" and result["commit"] == commit, result
            assert _version(node, stack) == "7"
            shown = fleetdeck("repos", "ls", "-o", "json", env=env).stdout
            assert "PRIVATE KEY" not in shown and server.deploy_key.splitlines()[1] not in shown
            # Removed, then deployed from Git again: a fresh deploy, not a stale source.
            fleetdeck("stack", "rm", stack, "-y", env=env)
            again = fleetdeck_json("stack", "deploy", stack, "--git", repo, "--env", node.name,
                                   env=env)  # fmt: skip
            assert again["result"] == "deployed" and again["commit"] == commit, again
        finally:
            fleetdeck("stack", "rm", stack, "-y", env=env, check=False)
