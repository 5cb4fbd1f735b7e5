"""Cross-site request forgery and framing, in a real Chromium against the lab's server.

A page served from *another port of the same host* is same-site with the server, so the
``SameSite=Strict`` session cookie goes with its form posts: only the Origin check stops it.
The attacker's page here is served over HTTPS on another port of the server's address (same
scheme and host: same-site by every browser's rule), auto-submits a form that would stop a
container with the logged-in admin's cookie, and must be refused — the container still runs
and the audit log has no stop. It also tries to frame the UI, which the headers forbid. And
the UI's own pages must work under the Content-Security-Policy: no violation is reported on
any of them.
"""

from __future__ import annotations

import http.server
import ssl
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, expect

from tests.conftest import client_for
from tests.e2e.ui_helpers import goto, login, wait_until
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

NAME = f"csrf-{uuid.uuid4().hex[:6]}"


class Target:
    """The lab, the container the forged form aims at, and the attacker's site."""

    def __init__(self, record: LabRecord, ref: str, attacker: str) -> None:
        assert record.server is not None
        self.record = record
        self.url = record.server.url
        self.password = record.server.admin_password
        self.ref = ref
        self.attacker = attacker


def _attacker_site(record: LabRecord, ref: str) -> tuple[http.server.HTTPServer, str]:
    """An HTTPS site on another port of the server's host, serving the forging pages."""
    assert record.server is not None
    server_url = record.server.url
    host = urlsplit(server_url).hostname or ""
    pages = {
        "/forge": f"""<!doctype html><title>win a prize</title>
<form id="f" method="POST" action="{server_url}/api/v1/containers/{ref}/stop"></form>
<script>document.getElementById("f").submit();</script>""",
        "/frame": f"""<!doctype html><title>framed</title>
<iframe id="ui" src="{server_url}/login" width="800" height="600"></iframe>""",
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "not here").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    site = http.server.HTTPServer((host, 0), Handler)
    tls = Path(record.server.data_dir) / "tls"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls / "server.pem", tls / "server.key")
    site.socket = context.wrap_socket(site.socket, server_side=True)
    return site, f"https://{host}:{site.server_address[1]}"


@pytest.fixture(scope="module")
def target(fleet3: LabRecord) -> Iterator[Target]:
    """A running web container on node1 and the attacker's site, removed afterwards."""
    node = fleet3.nodes[0]
    docker(node, "run", "-d", "--name", NAME, fleet3.images["web"])
    with client_for(fleet3) as client:
        deadline = time.monotonic() + 20
        items = client.list_containers(name=NAME).items
        while not items and time.monotonic() < deadline:
            time.sleep(0.2)
            items = client.list_containers(name=NAME).items
        assert len(items) == 1, items
    ref = f"{items[0].environment}/{items[0].node}/{NAME}"
    site, attacker = _attacker_site(fleet3, ref)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield Target(fleet3, ref, attacker)
    site.shutdown()
    site.server_close()
    docker(node, "rm", "-f", NAME, check=False)


@pytest.fixture(scope="module")
def admin(browser: Browser, target: Target) -> Iterator[Page]:
    """The admin, logged in through the form; CSP violations collected on the page."""
    page = login(browser, target.url, "admin", target.password)
    yield page
    page.context.close()


def test_a_form_from_another_port_of_the_host_cannot_use_the_session(
    admin: Page, target: Target
) -> None:
    forged = admin.context.new_page()
    seen: list[tuple[str, str | None, str | None]] = []

    def note(request: Request) -> None:
        if request.url.endswith("/stop"):
            headers = request.all_headers()  # .headers leaves out Sec-Fetch-*
            seen.append((request.method, headers.get("origin"), headers.get("sec-fetch-site")))

    forged.on("request", note)
    with forged.expect_navigation(url=f"{target.url}/api/v1/containers/{target.ref}/stop"):
        goto(forged, target.attacker + "/forge")
    # The browser did send the cookie (else: 401 authentication required) — and was refused.
    body = forged.locator("body").inner_text()
    assert "permission_denied" in body and "cross-site request refused" in body, body
    assert seen == [("POST", target.attacker, "same-site")]
    forged.close()
    with client_for(target.record) as client:
        container = client.list_containers(name=NAME).items[0]
        assert container.state == "running"
        stops = client.audit(action="container.stop", target=target.ref)
        assert stops.items == [], stops.items
    # The UI itself, on the server's origin, still stops and starts it with the same cookie.
    goto(admin, f"{target.url}/containers/{target.ref}")
    admin.get_by_role("button", name="Stop", exact=True).click()
    admin.locator("[data-confirm-ok]").click()
    expect(admin.locator("[data-container-state]")).to_have_text("exited", timeout=30000)
    admin.get_by_role("button", name="Start", exact=True).click()
    expect(admin.locator("[data-container-state]")).to_have_text("running", timeout=30000)


def test_the_ui_cannot_be_framed(admin: Page, target: Target) -> None:
    framing = admin.context.new_page()
    refused: list[str] = []
    framing.on("console", lambda m: refused.append(m.text))
    goto(framing, target.attacker + "/frame")
    # Chromium reports the refusal on the embedding page once the frame's response arrived.
    deadline = time.monotonic() + 15
    while not any("frame-ancestors" in m for m in refused) and time.monotonic() < deadline:
        framing.wait_for_timeout(200)
    assert any("frame-ancestors" in m for m in refused), refused
    expect(framing.frame_locator("#ui").get_by_label("Username")).to_have_count(0)
    framing.close()


def test_every_page_works_under_the_content_security_policy(admin: Page, target: Target) -> None:
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(f"{admin.url}: {message.text}")

    admin.on("console", on_console)
    pages = [
        "/",
        "/containers",
        f"/containers/{target.ref}",
        f"/containers/{target.ref}#stats",
        "/stacks",
        "/logs",
        "/environments",
        "/swarm",
        "/reports/capacity",
        "/images",
        "/alerts",
        "/rules",
        "/tokens",
        "/users",
        "/audit",
    ]
    for path in pages:
        goto(admin, target.url + path)
        admin.wait_for_load_state("networkidle")
    # The console (xterm.js writes <style> elements; a WebSocket to the server) still works.
    goto(admin, f"{target.url}/containers/{target.ref}")
    admin.get_by_role("tab", name="Console").click()
    admin.get_by_role("button", name="Connect", exact=True).click()
    expect(admin.locator("[data-console-status]")).to_have_text("connected")
    admin.locator(".xterm-helper-textarea").focus()
    admin.keyboard.type("echo csp-$((6*7))\n")
    wait_until(
        admin,
        "() => !!window.fleetdeckConsole && window.fleetdeckConsole.text().includes('csp-42')",
    )
    admin.get_by_role("button", name="Disconnect").click()
    admin.remove_listener("console", on_console)
    assert violations == []
