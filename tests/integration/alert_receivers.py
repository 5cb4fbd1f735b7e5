"""Real notification receivers for alerting tests: an HTTP webhook and an SMTP server.

Both listen on 127.0.0.1 in the test process; the lab's server (in the root network
namespace) reaches them through Apprise ``json://`` and ``mailto://`` URLs.
"""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_string
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

if TYPE_CHECKING:
    from types import TracebackType

    from aiosmtpd.smtp import SMTP, Envelope, Session


class WebhookReceiver:
    """Collects the JSON bodies POSTed to it (Apprise's ``json://``: title, message, type)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server naming
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with lock:
                    received.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The Apprise URL of this receiver."""
        return f"json://127.0.0.1:{self.port}/alerts"

    def titles(self, needle: str) -> list[str]:
        """Titles of received notifications that mention ``needle``."""
        return [str(m.get("title", "")) for m in list(self.received) if needle in str(m)]

    def bodies(self, needle: str, word: str) -> list[str]:
        """Messages of received ``[WORD]`` notifications that mention ``needle``."""
        return [
            str(m.get("message", ""))
            for m in list(self.received)
            if needle in str(m) and str(m.get("title", "")).startswith(f"[{word}]")
        ]

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) that keeps the subjects and bodies it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        messages = self.messages

        class Handler:
            async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
                self, server: SMTP, session: Session, envelope: Envelope
            ) -> str:
                content = envelope.content
                text = content.decode() if isinstance(content, bytes) else str(content)
                parsed = message_from_string(text)
                messages.append((str(parsed.get("Subject", "")), text))
                return "250 OK"

        with socket.socket() as probe:  # a free port (aiosmtpd checks readiness by port)
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        """The Apprise URL that sends to this server."""
        return f"mailto://127.0.0.1:{self.port}?from=alerts@fleetdeck.test&to=ops@fleetdeck.test"

    def subjects(self, needle: str) -> list[str]:
        """Subjects of received mails that mention ``needle``."""
        return [subject for subject, text in list(self.messages) if needle in text]

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()
