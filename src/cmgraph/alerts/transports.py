"""Mail transports: SMTP with aiosmtplib, and ``.eml`` files for the demo.

A transport either delivers a message or raises ``TemporaryFailure`` (try again later) or
``PermanentFailure`` (the message can never be delivered as it is). The sender decides what
to do with each; transports never retry on their own.

``CMGRAPH_SMTP_URL`` forms:

- ``smtp://[user:password@]host[:port]``: STARTTLS required (port 587 by default). A server
  that does not offer STARTTLS gets nothing, not even the login: a temporary failure. With
  ``CMGRAPH_SMTP_ALLOW_PLAIN=true`` STARTTLS is used when offered and plain text otherwise.
- ``smtps://[user:password@]host[:port]``: implicit TLS (port 465 by default).
- ``smtp://host[:port]?tls=none``: never TLS, for a local relay; refused unless
  ``CMGRAPH_SMTP_ALLOW_PLAIN=true``.

An optional ``timeout`` parameter (seconds, default 30) bounds each SMTP step. User name and
password are percent-decoded, so ``@`` or ``:`` in them are written ``%40`` and ``%3A``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from cmgraph.config import Settings

DEFAULT_TIMEOUT = 30.0


class DeliveryError(Exception):
    """A message was not delivered; ``str()`` is what the outbox records as the last error."""


class TemporaryFailure(DeliveryError):
    """Worth trying again later: 4xx replies, connection problems, timeouts, missing TLS."""


class PermanentFailure(DeliveryError):
    """Never worth retrying: 5xx replies to the sender, a recipient or the content."""


class Transport(Protocol):
    async def send(self, message: EmailMessage, recipients: list[str]) -> None:
        """Deliver ``message`` to every recipient, or raise a ``DeliveryError``.

        Callers send one recipient per message: a refusal then concerns that message only,
        and no recipient ever gets a duplicate because another one was refused.
        """
        ...


class TlsMode(StrEnum):
    STARTTLS = "starttls"  # required
    OPPORTUNISTIC = "opportunistic"  # STARTTLS when offered (plain text allowed)
    IMPLICIT = "implicit"  # smtps://
    NONE = "none"  # plain text (plain text allowed)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: TlsMode
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def parse_smtp_url(url: str, *, allow_plain: bool = False) -> SmtpConfig:
    """Read ``CMGRAPH_SMTP_URL``; refuse plain text unless explicitly allowed."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError(f"CMGRAPH_SMTP_URL must start with smtp:// or smtps://, got {url!r}")
    if not parts.hostname:
        raise ValueError("CMGRAPH_SMTP_URL names no host")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"tls", "timeout"}
    if unknown:
        raise ValueError(f"CMGRAPH_SMTP_URL has unknown parameters: {', '.join(sorted(unknown))}")
    tls_param = query.get("tls", "").lower()
    if scheme == "smtps":
        if tls_param not in ("", "implicit"):
            raise ValueError("smtps:// always uses implicit TLS; drop the tls parameter")
        tls = TlsMode.IMPLICIT
    elif tls_param in ("", "starttls"):
        tls = TlsMode.OPPORTUNISTIC if allow_plain and not tls_param else TlsMode.STARTTLS
    elif tls_param == "none":
        if not allow_plain:
            raise ValueError(
                "CMGRAPH_SMTP_URL asks for plain text (tls=none); set "
                "CMGRAPH_SMTP_ALLOW_PLAIN=true to allow it, for a local relay only"
            )
        tls = TlsMode.NONE
    else:
        raise ValueError(f"CMGRAPH_SMTP_URL: tls must be starttls or none, got {tls_param!r}")
    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
        port = parts.port or (465 if tls is TlsMode.IMPLICIT else 587)
    except ValueError as error:
        raise ValueError(f"CMGRAPH_SMTP_URL: {error}") from None
    if timeout <= 0:
        raise ValueError("CMGRAPH_SMTP_URL: timeout must be positive")
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        timeout=timeout,
    )


def _reply(error: aiosmtplib.SMTPResponseException) -> str:
    return f"{error.code} {error.message}".strip()


class SmtpTransport:
    """One connection per message: a failure never leaves a session half-used for the next."""

    def __init__(self, config: SmtpConfig, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        # Certificates are always verified; a context only adds trust (a private CA, tests).
        self.tls_context = tls_context

    async def send(self, message: EmailMessage, recipients: list[str]) -> None:
        config = self.config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            use_tls=config.tls is TlsMode.IMPLICIT,
            start_tls=False,  # decided below, so a server without STARTTLS is caught first
            timeout=config.timeout,
            tls_context=self.tls_context,
        )
        refused: dict[str, aiosmtplib.SMTPResponse] = {}
        try:
            await client.connect()
            await self._secure(client)
            if config.username:
                await client.login(config.username, config.password or "")
            refused, _ = await client.send_message(message, recipients=recipients)
        except aiosmtplib.SMTPRecipientsRefused as error:
            replies = "; ".join(f"{r.recipient}: {_reply(r)}" for r in error.recipients)
            if all(r.code >= 500 for r in error.recipients):
                raise PermanentFailure(f"recipient refused by {config.where}: {replies}") from None
            raise TemporaryFailure(f"recipient deferred by {config.where}: {replies}") from None
        except (
            aiosmtplib.SMTPSenderRefused,
            aiosmtplib.SMTPDataError,
        ) as error:
            kind = PermanentFailure if error.code >= 500 else TemporaryFailure
            raise kind(f"{config.where} refused the message: {_reply(error)}") from None
        except aiosmtplib.SMTPResponseException as error:
            # Greeting, HELO or AUTH refusals concern the server set-up, not this message.
            raise TemporaryFailure(f"{config.where} answered {_reply(error)}") from None
        except aiosmtplib.SMTPTimeoutError as error:
            raise TemporaryFailure(f"timed out talking to {config.where}: {error}") from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise TemporaryFailure(f"cannot deliver through {config.where}: {error}") from None
        finally:
            await _close(client)
        if refused:
            # Delivered to the others: sending again would give them a second copy.
            listed = "; ".join(f"{address}: {reply}" for address, reply in refused.items())
            raise PermanentFailure(f"{config.where} refused some recipients: {listed}")

    async def _secure(self, client: aiosmtplib.SMTP) -> None:
        if self.config.tls not in (TlsMode.STARTTLS, TlsMode.OPPORTUNISTIC):
            return
        await client.ehlo()
        if client.supports_extension("starttls"):
            await client.starttls()
        elif self.config.tls is TlsMode.STARTTLS:
            raise TemporaryFailure(
                f"{self.config.where} does not offer STARTTLS; nothing was sent in plain text "
                "(use smtps:// for implicit TLS, or CMGRAPH_SMTP_ALLOW_PLAIN=true for a local "
                "relay)"
            )


async def _close(client: aiosmtplib.SMTP) -> None:
    if not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


class FileTransport:
    """Writes ``<mail_dir>/<UTC timestamp>-<Message-ID hash>.eml``, each file complete or absent.

    The name carries a hash of the Message-ID, so sending a message again (a retry after a
    crash) finds the earlier file and writes nothing.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage, recipients: list[str]) -> None:
        try:
            await asyncio.to_thread(self._write, message)
        except OSError as error:
            raise TemporaryFailure(f"cannot write to {self.folder}: {error}") from None

    def _write(self, message: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        key = message["Message-ID"] or message.as_string()
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        existing = next(self.folder.glob(f"*-{digest}.eml"), None)
        if existing is not None:
            return existing
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.folder / f"{stamp}-{digest}.eml"
        data = message.as_bytes(policy=SMTP_POLICY)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target


def make_transport(settings: Settings) -> Transport:
    """SMTP when ``CMGRAPH_SMTP_URL`` is set, else ``.eml`` files in the mail folder.

    Raises ``ValueError`` for a URL that cannot be used, so a bad setting stops start-up
    instead of filling the outbox with failures.
    """
    if settings.smtp_url:
        return SmtpTransport(
            parse_smtp_url(settings.smtp_url, allow_plain=settings.smtp_allow_plain)
        )
    return FileTransport(settings.mail_dir)
