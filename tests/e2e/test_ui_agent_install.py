"""The add-environment dialog shows every way to start the agent, as ``env add`` prints them.

On ``fleet3``, whose server is given this checkout's wheelhouse (``fleetdeck server
agent-dist``) for the test: an admin adds an environment from the Environments page and sees
the install line (with the CA written in, no ``-k``), the agent container's ``docker run``
line, the by-hand command and the uninstall line, each with its Copy button; the environment
page's *New join token* shows the lines for the new token. The lines are the API's, so the
lab test (tests/integration/test_agent_install.py) proves the install line itself works.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import client_for
from tests.e2e.ui_helpers import goto, login, shot
from tests.integration.install_helpers import fleetdeck_cli, wheelhouse

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

NAME = f"ui-install-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def served(e2e_lab: LabRecord, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabRecord]:
    """The lab's server serving a wheelhouse for the test (removed after it)."""
    assert e2e_lab.server is not None
    house = wheelhouse(tmp_path_factory.mktemp("wheelhouse"))
    data_dir = e2e_lab.server.data_dir
    dist = fleetdeck_cli("server", "agent-dist", "--data-dir", data_dir, "--from", str(house))
    assert dist.returncode == 0, dist.stderr
    yield e2e_lab
    shutil.rmtree(Path(data_dir) / "agent-dist", ignore_errors=True)
    with client_for(e2e_lab) as client:
        if any(e.name == NAME for e in client.list_environments()):
            client.delete_environment(NAME)


@pytest.fixture(scope="module")
def admin(browser: Browser, served: LabRecord) -> Iterator[Page]:
    assert served.server is not None
    page = login(browser, served.server.url, "admin", served.server.admin_password)
    yield page
    page.context.close()


def _lines(page: Page) -> list[str]:
    boxes = page.locator("[data-env-command] [data-env-lines] .copybox pre")
    expect(boxes.first).to_be_visible()
    return [text.strip() for text in boxes.all_inner_texts()]


def _check(lines: list[str], url: str) -> None:
    install, docker, by_hand, uninstall = lines
    assert install.startswith("curl -fsS --cacert <(printf '%s\\n' '-----BEGIN CERTIFICATE-----'")
    assert f"{url}/install/agent.sh | sh -s -- --token FDJT-1-" in install and " -k " not in install
    assert docker.startswith("docker run -d --name fleetdeck-agent --restart unless-stopped")
    assert by_hand.startswith(f"fleetdeck agent --server {url} --join-token FDJT-1-")
    assert uninstall == "sh /opt/fleetdeck-agent/agent.sh --uninstall"


def test_add_environment_shows_the_install_container_and_hand_lines(
    admin: Page, served: LabRecord
) -> None:
    assert served.server is not None
    url = served.server.url
    goto(admin, url + "/environments")
    form = admin.locator("[data-env-add]")
    form.locator("input[name=name]").fill(NAME)
    form.get_by_role("button", name="Add").click()
    expect(admin.locator(".toast.ok", has_text=f"Environment {NAME} added")).to_be_visible()
    first = _lines(admin)
    _check(first, url)
    expect(admin.locator("[data-env-lines] h3", has_text="By script")).to_be_visible()
    expect(admin.locator("[data-env-lines] button[data-copy]")).to_have_count(4)
    shot(admin, "environments-add-install-lines")

    goto(admin, f"{url}/environments/{NAME}")
    admin.get_by_role("button", name="New join token").click()
    expect(admin.locator("[data-env-command]")).to_be_visible()
    second = _lines(admin)
    _check(second, url)
    assert second[0] != first[0]  # a new token, so a new line
