"""The web UI behind real Caddy (2.6) and real nginx (1.22), with TLS, in a real Chromium.

Issue 14's "Done when" (d). One fleetdeck server of this module's own runs on the ``fleet3``
lab's gateway address with ``forwarded_allow_ips`` naming that address (where both proxies,
in the root namespace, connect from) and manages node1's engine as a ``local`` environment.
Caddy and nginx run with ``docs/deploy/Caddyfile`` and ``docs/deploy/nginx-fleetdeck.conf``
as they are (Caddy by the environment variables the file documents; nginx from a copy with
only its ``# SET:`` lines replaced), terminate TLS with a certificate of a test CA for the
gateway address, and pass requests on to the server's own HTTPS, verified against its CA.

The browser runs in a network namespace of its own (:mod:`tests.e2e.browser_netns`), so its
address differs from the proxies': through either proxy it logs in, sees a container it
stops change state live on the dashboard (the change feed's server-sent events through the
proxy), runs a command in the console (the WebSocket through the proxy), and the audit
entries of that login and that stop carry the browser's address. A third proxy, nginx in
node2's namespace, is not trusted: what it forwards is not believed.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.sync_api import Browser, Page, expect

from fleetdeck.client.client import FleetdeckClient
from fleetdeck.client.config import ClientConfig
from fleetdeck.errors import FleetdeckError
from tests.e2e.browser_netns import PREFIX
from tests.e2e.ui_helpers import goto, login, wait_until
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from fleetdeck.lab import LabRecord
    from fleetdeck.lab.state import NodeRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy"
TAG = uuid.uuid4().hex[:6]
ENV = f"px-{TAG}"
READY_S = 60.0


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _test_ca(out: Path, *addresses: str) -> tuple[Path, Path, Path]:
    """A CA and a certificate of it for ``addresses``, as an operator's own PKI would make."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "proxy test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, addresses[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = out / "ca.pem", out / "proxy.pem", out / "proxy.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths[2].chmod(0o600)
    return paths


def _wait(what: str, ready: Callable[[], bool], log: Path | None = None) -> None:
    """Poll ``ready()`` (true when up) for :data:`READY_S`, else fail with the log's tail."""
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise AssertionError(f"{what} did not come up in {READY_S} s\n{tail}")


def _trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def _answers(url: str, ca: Path) -> bool:
    if not ca.exists():  # the server writes its CA as it starts
        return False
    try:
        answer = httpx.get(url + "/api/v1/health", verify=_trusting(ca), timeout=2)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


class Proxied:
    """The module's server, its local environment, and the proxies in front of it."""

    def __init__(self, root: Path, record: LabRecord) -> None:
        self.root = root
        self.record = record
        self.gateway = record.gateway
        self.procs: list[subprocess.Popen[bytes]] = []
        self.password = secrets.token_urlsafe(12)
        self.server_url = ""
        self.server_ca = root / "server" / "ca" / "ca.pem"
        self.token = ""
        self.urls: dict[str, str] = {}
        self.ca = self.cert = self.key = root / "missing"
        self.ref = ""
        self.container = f"px-{TAG}-web"

    def spawn(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        """Start a process of this module's (stopped at the end by its own handle)."""
        with log.open("ab") as out:
            self.procs.append(
                subprocess.Popen(  # noqa: S603 - our own argv
                    argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=env
                )
            )

    def client(self) -> FleetdeckClient:
        """The admin's client, straight to the server (not through a proxy)."""
        return FleetdeckClient(
            ClientConfig(url=self.server_url, ca_cert=str(self.server_ca), token=self.token)
        )

    def start_server(self, public_url: str) -> None:
        """The server on the gateway, believing X-Forwarded-* from the gateway address only."""
        data = self.root / "server"
        data.mkdir()
        password_file = data / "admin-password"
        password_file.write_text(self.password)
        password_file.chmod(0o600)
        port = _free_port(self.gateway)
        self.server_url = f"https://{self.gateway}:{port}"
        env = {
            **os.environ,
            "FLEETDECK_ADMIN_PASSWORD_FILE": str(password_file),
            "FLEETDECK_FORWARDED_ALLOW_IPS": f"{self.gateway}/32",
            "FLEETDECK_AGENT_URL": self.server_url,
        }
        argv = [sys.executable, "-m", "fleetdeck", "server", "--data-dir", str(data)]
        argv += ["--listen", f"{self.gateway}:{port}", "--public-url", public_url]
        log = data / "server.log"
        self.spawn(argv, log, env)
        _wait("the fleetdeck server", lambda: _answers(self.server_url, self.server_ca), log)
        config = ClientConfig(url=self.server_url, ca_cert=str(self.server_ca))
        with FleetdeckClient(config) as anon:
            session = anon.login("admin", self.password).token
        with FleetdeckClient(
            ClientConfig(url=self.server_url, ca_cert=str(self.server_ca), token=session)
        ) as admin:
            self.token = admin.create_token("proxy-test").token

    def add_local_environment(self, node: NodeRecord) -> None:
        """Node1's engine as a local environment of this server, with one web container."""
        docker(node, "run", "-d", "--name", self.container, self.record.images["web"])
        with self.client() as client:
            client.create_environment(ENV, kind="local", docker_host=node.docker_host)

            def listed() -> bool:
                try:
                    items = client.list_containers(environment=ENV, name=self.container).items
                except FleetdeckError:
                    return False
                if items:
                    self.ref = f"{items[0].environment}/{items[0].node}/{items[0].name}"
                return bool(items)

            _wait("the local environment's container", listed)

    def start_caddy(self, port: int) -> str:
        """Caddy with docs/deploy/Caddyfile as it is, configured by its documented variables."""
        home = self.root / "caddy"
        home.mkdir()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "FLEETDECK_SITE": f"{self.gateway}:{port}",
            "FLEETDECK_TLS": f"{self.cert} {self.key}",
            "FLEETDECK_UPSTREAM": self.server_url.removeprefix("https://"),
            "FLEETDECK_CA": str(self.server_ca),
            "FLEETDECK_CADDY_ADMIN": "off",  # other Caddys on this machine own :2019
        }
        argv = ["caddy", "run", "--adapter", "caddyfile", "--config", str(DEPLOY / "Caddyfile")]
        url = f"https://{self.gateway}:{port}"
        log = home / "caddy.log"
        self.spawn(argv, log, env)
        _wait("Caddy", lambda: _answers(url, self.ca), log)
        return url

    def start_nginx(self, name: str, listen: str, netns: str | None = None) -> str:
        """Nginx with a copy of docs/deploy/nginx-fleetdeck.conf, only its SET: lines changed."""
        prefix = self.root / name
        prefix.mkdir()
        host = listen.rsplit(":", 1)[0]
        site = nginx_site(
            (DEPLOY / "nginx-fleetdeck.conf").read_text(),
            upstream=self.server_url.removeprefix("https://"),
            listen=f"{listen} ssl",
            server_name=host,
            cert=str(self.cert),
            key=str(self.key),
            ca=str(self.server_ca),
        )
        (prefix / "fleetdeck.conf").write_text(site)
        temps = "\n".join(
            f"  {kind}_temp_path {prefix / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (prefix / "nginx.conf").write_text(
            f"""# The smallest main configuration around the site (Debian's adds logs, mime types).
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{ worker_connections 256; }}
http {{
  access_log off;
{temps}
  include {prefix / "fleetdeck.conf"};
}}
"""
        )
        argv = ["nginx", "-p", str(prefix), "-e", str(prefix / "error.log")]
        argv += ["-c", str(prefix / "nginx.conf"), "-g", "daemon off; user root;"]
        if netns is not None:
            argv = ["nsenter", f"--net=/run/netns/{netns}", "--", *argv]
        url = f"https://{listen}"
        log = prefix / "nginx.log"
        self.spawn(argv, log)
        _wait(f"nginx ({name})", lambda: _answers(url, self.ca), prefix / "error.log")
        return url

    def stop(self) -> None:
        """Stop what this module started, each by its own handle."""
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


#: The lines of the nginx site a deployment changes, by the name after ``# SET:``.
_SET_LINE = re.compile(r"^(?P<indent>\s*)(?P<directive>\S+) .*;\s*# SET: (?P<name>[\w, ]+)$", re.M)


def nginx_site(text: str, **values: str) -> str:
    """The site with each ``# SET: NAME`` line's value replaced (and nothing else changed)."""
    directives = {"upstream": "server", "listen": "listen", "server_name": "server_name"}
    directives |= {"cert": "ssl_certificate", "key": "ssl_certificate_key"}
    directives |= {"ca": "proxy_ssl_trusted_certificate"}
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match.group("name").strip()
        assert match.group("directive") == directives[name], match.group(0)
        seen.add(name)
        return f"{match.group('indent')}{match.group('directive')} {values[name]};  # SET: {name}"

    out = _SET_LINE.sub(replace, text)
    assert seen == set(values), f"SET lines found: {sorted(seen)}"
    return out


def browser_address() -> str:
    """The address the test browser's namespace connects from (see browser_netns)."""
    tag = str(os.getpid())
    shown = subprocess.run(
        ["ip", "-n", f"{PREFIX}{tag}", "-o", "-4", "addr", "show", "dev", f"{PREFIX}p{tag}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", shown)
    assert found, shown
    return found.group(1)


@pytest.fixture(scope="module")
def proxied(
    e2e_lab: LabRecord, tmp_path_factory: pytest.TempPathFactory, chromium: str
) -> Iterator[Proxied]:
    """The server, node1's engine as its local environment, Caddy, nginx, an untrusted nginx."""
    for tool in ("caddy", "nginx"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run scripts/setup.sh")
    lab = Proxied(tmp_path_factory.mktemp("proxied"), e2e_lab)
    node2 = e2e_lab.nodes[1]
    lab.ca, lab.cert, lab.key = _test_ca(lab.root, lab.gateway, node2.ip)
    caddy_port = _free_port(lab.gateway)
    try:
        lab.start_server(public_url=f"https://{lab.gateway}:{caddy_port}")
        lab.add_local_environment(e2e_lab.nodes[0])
        lab.urls["caddy"] = lab.start_caddy(caddy_port)
        lab.urls["nginx"] = lab.start_nginx("nginx", f"{lab.gateway}:{_free_port(lab.gateway)}")
        lab.urls["untrusted"] = lab.start_nginx(
            "untrusted", f"{node2.ip}:{_free_port(lab.gateway)}", netns=node2.netns
        )
        yield lab
    finally:
        lab.stop()
        docker(e2e_lab.nodes[0], "rm", "-f", lab.container, check=False)


def _audit_ips(lab: Proxied, action: str, target: str) -> list[object]:
    with lab.client() as client:
        page = client.audit(action=action, target=target, limit=5)
    return [(entry.detail or {}).get("ip") for entry in page.items]


def _stop_live(page: Page, url: str, ref: str) -> None:
    """Stop ``ref`` from its page while the dashboard, in another tab, shows it go."""
    dashboard = page.context.new_page()
    goto(dashboard, url + "/")
    exited = dashboard.locator(f"[data-container='{ref}'] [data-state]", has_text="exited")
    expect(dashboard.locator("[data-live]")).to_have_class("live on")
    expect(exited).to_have_count(0)
    goto(page, url + "/containers/" + ref)
    page.get_by_role("button", name="Stop", exact=True).click()
    page.locator("[data-confirm-ok]").click()
    expect(page.locator(".toast.ok").last).to_contain_text("stop", timeout=20000)
    # Not reloaded: the change feed's event stream came through the proxy.
    expect(exited).to_have_count(1, timeout=15000)
    page.get_by_role("button", name="Start", exact=True).click()
    expect(exited).to_have_count(0, timeout=15000)
    expect(page.locator("[data-container-state]")).to_have_text("running")
    dashboard.close()


def _console(page: Page, url: str, ref: str) -> None:
    """A command in the container's console (xterm over the WebSocket through the proxy)."""
    goto(page, url + "/containers/" + ref)
    page.get_by_role("tab", name="Console").click()
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("[data-console-status]")).to_have_text("connected")
    page.locator(".xterm-helper-textarea").focus()
    page.keyboard.type("echo via-proxy-$((6*7))\n")
    wait_until(
        page,
        "() => !!window.fleetdeckConsole"
        " && window.fleetdeckConsole.text().includes('via-proxy-42')",
    )
    page.get_by_role("button", name="Disconnect").click()


@pytest.mark.parametrize("proxy", ["caddy", "nginx"])
def test_the_ui_works_behind_the_proxy_and_audits_the_browser_s_address(
    browser: Browser, proxied: Proxied, proxy: str
) -> None:
    url = proxied.urls[proxy]
    page = login(browser, url, "admin", proxied.password)
    try:
        # The session cookie is Secure: the browser reached the server over HTTPS.
        cookie = next(c for c in page.context.cookies() if c["name"] == "fleetdeck_session")
        assert cookie["secure"], cookie
        _stop_live(page, url, proxied.ref)
        _console(page, url, proxied.ref)
    finally:
        page.context.close()
    browser_ip = browser_address()
    assert browser_ip != proxied.gateway
    assert _audit_ips(proxied, "auth.login", "admin")[0] == browser_ip
    assert _audit_ips(proxied, "container.stop", proxied.ref)[0] == browser_ip
    assert _audit_ips(proxied, "container.start", proxied.ref)[0] == browser_ip


def test_an_untrusted_proxy_s_forwarded_headers_are_not_believed(proxied: Proxied) -> None:
    node2 = proxied.record.nodes[1]
    body = {"username": "admin", "password": proxied.password}
    forged = {"X-Forwarded-For": "192.0.2.99", "X-Forwarded-Proto": "https"}
    answer = httpx.post(
        proxied.urls["untrusted"] + "/api/v1/auth/login",
        json=body,
        headers=forged,
        verify=_trusting(proxied.ca),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    # nginx forwarded the address it saw and "https", but from node2: neither is believed.
    assert _audit_ips(proxied, "auth.login", "admin")[0] == node2.ip
    # Through the trusted Caddy, a client's own X-Forwarded-For does not pick its address:
    # Caddy replaces it with the address it saw (here, this test's, in the root namespace).
    answer = httpx.post(
        proxied.urls["caddy"] + "/api/v1/auth/login",
        json=body,
        headers=forged,
        verify=_trusting(proxied.ca),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert _audit_ips(proxied, "auth.login", "admin")[0] == proxied.gateway
