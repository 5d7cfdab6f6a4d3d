"""Export kinds and the short-lived signed links that download them.

An export is made when its link is followed, not when the link is asked for: the link
carries the kind, its parameters, the user and an expiry, signed with the server's key, so
any server process can serve it and the file always reflects the data (and the user's
access) at download time. ``EXPORT_LINK_SECONDS`` keeps a leaked link from being useful for
long.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.adapters import links
from cmgraph.adapters.links import LinkInvalid
from cmgraph.adapters.storage import link_key
from cmgraph.config import Settings
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.permissions import Principal

EXPORT_LINK_SECONDS = 300
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON = "application/json"

ExportWriter = Callable[[AsyncSession, Principal, Mapping[str, Any], BinaryIO], Awaitable[str]]
"""Writes one export for ``principal`` into the stream and returns its file name.

Raises ``DomainError`` (NOT_FOUND, FORBIDDEN, INVALID) when it cannot be made; the HTTP
route answers 404/403/400 before anything was sent.
"""


@dataclass(frozen=True)
class ExportKind:
    """One kind of download: its name in URLs and the CLI, its media type, its writer."""

    name: str
    media_type: str
    write: ExportWriter


@dataclass(frozen=True)
class ExportLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class ExportTicket:
    """What a genuine, unexpired link asks for."""

    kind: str
    params: dict[str, Any]
    user_id: int


def int_param(params: Mapping[str, Any], name: str) -> int:
    """A writer's id parameter, checked (links are signed, but the CLI builds them too)."""
    value = params.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise DomainError(ErrorCode.INVALID, f"The export needs {name}.", name)
    return value


def export_link(
    settings: Settings, kind: str, params: Mapping[str, Any], user_id: int
) -> ExportLink:
    """An absolute URL that makes and downloads one export for ``user_id`` for a few minutes."""
    expires = int(time.time()) + EXPORT_LINK_SECONDS
    token = sign_ticket(link_key(settings), kind, params, user_id, expires)
    base = settings.public_url.rstrip("/")
    return ExportLink(
        url=f"{base}/exports/{quote(kind, safe='')}?token={token}",
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


def sign_ticket(
    key: bytes, kind: str, params: Mapping[str, Any], user_id: int, expires: int
) -> str:
    return links.sign(key, _purpose(kind), {"p": dict(params), "u": user_id}, expires)


def check_ticket(key: bytes, token: str, kind: str, now: float | None = None) -> ExportTicket:
    """The request behind a token made by this server for ``kind``; else LinkInvalid/Expired."""
    data = links.check(key, _purpose(kind), token, now)
    try:
        return ExportTicket(kind, dict(data["p"]), int(data["u"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid from exc


def _purpose(kind: str) -> str:
    return f"cmgraph export {kind}"
