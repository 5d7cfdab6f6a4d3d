"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, a free port), with switchable faults.

Use it from a test module with ``pytest_plugins = ["tests.smtp_server"]`` and the
``smtp_server`` fixture. Behaviours: accept everything; answer 4xx to the next N
transactions; answer 5xx to chosen recipient addresses; stop (connections refused) and start
again on the same port; offer STARTTLS (and AUTH once under TLS), or implicit TLS, with a
throwaway certificate.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.graphql_ws import free_port


@dataclass(frozen=True)
class Received:
    """One message as the server took it: envelope and parsed content."""

    mail_from: str
    recipients: list[str]
    message: EmailMessage
    over_tls: bool

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class Handler:
    """The server's behaviour; changed by the test thread, read by the server thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.transactions = 0  # MAIL commands seen, accepted or not
        self.defer_next = 0
        self.refused: set[str] = set()
        self.holding = threading.Event()  # set: MAIL gets no answer until released

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            self.transactions += 1
        for _ in range(1200):  # a client stuck here has sent nothing yet; at most 60 s
            if not self.holding.is_set():
                break
            await asyncio.sleep(0.05)
        with self.lock:
            if self.defer_next > 0:
                self.defer_next -= 1
                return "451 4.3.0 Temporary local problem, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=default_policy)
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    message,  # type: ignore[arg-type]
                    session.ssl is not None
                    or server.transport.get_extra_info("ssl_object") is not None,
                )
            )
        return "250 2.0.0 Message accepted for delivery"


class SmtpTestServer:
    """A switchable aiosmtpd server; ``url`` is what ``CMGRAPH_SMTP_URL`` would be."""

    def __init__(self, tls_folder: Path) -> None:
        self.handler = Handler()
        self.port = free_port()
        self.tls_folder = tls_folder
        self.starttls = False
        self.implicit_tls = False
        self.credentials: tuple[str, str] | None = None
        self.logins: list[str] = []
        self._controller: Controller | None = None

    @property
    def plain_url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?tls=none&timeout=5"

    @property
    def starttls_url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def transactions(self) -> int:
        with self.handler.lock:
            return self.handler.transactions

    def defer_next(self, count: int) -> None:
        """Answer 451 to the next ``count`` MAIL commands."""
        with self.handler.lock:
            self.handler.defer_next = count

    def hold(self) -> None:
        """Leave MAIL commands unanswered (a sender stuck before any content is sent)."""
        self.handler.holding.set()

    def release(self) -> None:
        self.handler.holding.clear()

    def refuse(self, address: str) -> None:
        """Answer 550 whenever ``address`` is named as a recipient."""
        self.handler.refused.add(address.lower())

    def start(self) -> None:
        if self._controller is not None:
            return
        options: dict[str, Any] = {}
        if self.starttls or self.implicit_tls:
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_context.load_cert_chain(*self.certificate())
            options["tls_context" if self.starttls else "ssl_context"] = server_context
        if self.credentials is not None:
            options["authenticator"] = self._authenticate
            options["auth_require_tls"] = True
        controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="smtp.cmgraph.test",
            **options,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Close the port: clients see connection refused until ``start``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def certificate(self) -> tuple[str, str]:
        """A self-signed certificate for 127.0.0.1 (cert file, key file), made once."""
        cert, key = self.tls_folder / "cert.pem", self.tls_folder / "key.pem"
        if not cert.exists():
            if shutil.which("openssl") is None:
                pytest.skip("openssl is needed to make a test certificate")
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    "-keyout",
                    str(key),
                    "-out",
                    str(cert),
                ],
                check=True,
                capture_output=True,
            )
        return str(cert), str(key)

    def client_context(self) -> ssl.SSLContext:
        """What a client needs to trust this server (certificates are still verified)."""
        return ssl.create_default_context(cafile=self.certificate()[0])

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if (
            isinstance(data, LoginPassword)
            and self.credentials is not None
            and (data.login.decode(), data.password.decode()) == self.credentials
        ):
            self.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpTestServer]:
    """A running plain SMTP server without STARTTLS; reconfigure, ``stop()`` or ``start()``."""
    server = SmtpTestServer(tmp_path / "tls")
    server.tls_folder.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()
