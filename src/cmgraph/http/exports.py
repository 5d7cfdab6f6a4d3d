"""``GET /exports/{kind}?token=...``: make an export and stream it to the browser.

The token is an ``ExportLink`` from the API (see ``exchange.downloads``). The file is written
to a temporary file first (openpyxl finishes a workbook by zipping its parts), so a failure
is a clean JSON error rather than half a download; the temporary file is gone once sent.
The user's access is that of download time.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator
from typing import BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from cmgraph.adapters.links import LinkExpired, LinkInvalid
from cmgraph.adapters.storage import link_key
from cmgraph.config import Settings
from cmgraph.domain.accounts import AuthenticationError, link_principal
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.exchange.downloads import ExportKind, check_ticket
from cmgraph.exchange.kinds import EXPORT_KINDS
from cmgraph.exchange.rows import snapshot
from cmgraph.http.errors import error_response
from cmgraph.http.evidence import content_disposition

log = logging.getLogger("cmgraph.exchange")

CHUNK = 64 * 1024
_STATUS = {ErrorCode.NOT_FOUND: 404, ErrorCode.FORBIDDEN: 403}


def export_routes(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> list[Route]:
    exports = Exports(settings, sessions)
    return [Route("/exports/{kind}", exports.download, methods=["GET"])]


class Exports:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions

    async def download(self, request: Request) -> Response:
        kind = EXPORT_KINDS.get(request.path_params["kind"])
        token = request.query_params.get("token", "")
        if kind is None:
            return error_response(404, "NOT_FOUND", "No such export.")
        try:
            ticket = check_ticket(link_key(self.settings), token, kind.name)
        except LinkExpired:
            return error_response(
                410, "LINK_EXPIRED", "This export link has expired; ask the API for a new one."
            )
        except LinkInvalid:
            return error_response(
                403, "LINK_INVALID", "This export link is not valid; ask the API for a new one."
            )
        target = tempfile.TemporaryFile()  # noqa: SIM115 (closed once streamed)
        try:
            filename = await self._write(kind, ticket.user_id, ticket.params, target)
        except DomainError as error:
            target.close()
            return error_response(_STATUS.get(error.code, 400), error.code.value, error.message)
        except BaseException:
            target.close()
            raise
        size = target.tell()
        target.seek(0)
        return StreamingResponse(
            _chunks(target),
            media_type=kind.media_type,
            headers={
                "Content-Length": str(size),
                "Content-Disposition": content_disposition(filename),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )

    async def _write(
        self, kind: ExportKind, user_id: int, params: dict[str, object], target: BinaryIO
    ) -> str:
        async with self.sessions() as session:
            await snapshot(session)
            try:
                principal = await link_principal(session, user_id)
            except AuthenticationError as refused:  # the person is gone or disabled
                raise DomainError(ErrorCode.FORBIDDEN, str(refused)) from None
            return await kind.write(session, principal, params, target)


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk
    finally:
        handle.close()
