"""JSON error bodies, the same for every refusal and failure of every endpoint."""

from __future__ import annotations

import logging
from http import HTTPStatus

from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response

from cmgraph.adapters.db import database_unavailable

log = logging.getLogger("cmgraph.http")

# Seconds a client is asked to wait before retrying while the database is unreachable.
RETRY_AFTER_SECONDS = 5

# Codes that differ from the status's standard name (``HTTPStatus(...).name``).
_CODES = {401: "UNAUTHENTICATED", 413: "PAYLOAD_TOO_LARGE", 500: "INTERNAL_SERVER_ERROR"}


def error_response(
    status: int,
    code: str,
    message: str,
    extensions: dict[str, object] | None = None,
    /,
    **headers: str,
) -> JSONResponse:
    """The GraphQL-style error body: ``{"errors": [{"message", "extensions": {"code"}}]}``."""
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code, **(extensions or {})}}]},
        status_code=status,
        headers=headers or None,
    )


def status_code_name(status: int) -> str:
    """The ``extensions.code`` for an HTTP error status: ``BAD_REQUEST``, ``NOT_FOUND``..."""
    if status in _CODES:
        return _CODES[status]
    try:
        return HTTPStatus(status).name
    except ValueError:
        return "BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR"


def unavailable_response(request_id: str) -> JSONResponse:
    """503 while the database is unreachable: the client should retry, and may."""
    return error_response(
        503,
        "SERVICE_UNAVAILABLE",
        f"The database is unavailable; try again shortly (request id {request_id}).",
        {"requestId": request_id},
        **{"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def failure_response(error: BaseException, request_id: str) -> Response:
    """The answer to an exception nothing else handled, logged here once with the request id.

    A database outage is the environment, not a bug: 503, and one warning line. A client
    that went away mid-request gets nothing (it would not read it) and an info line.
    Anything else is a bug: 500 with the request id, and the traceback in the log.
    """
    if isinstance(error, ClientDisconnect):
        log.info("request %s: the client disconnected before sending it all", request_id)
        return Response(status_code=400)
    if database_unavailable(error):
        log.warning("request %s: database unavailable: %r", request_id, error)
        return unavailable_response(request_id)
    log.error("request %s failed", request_id, exc_info=error)
    return error_response(
        500,
        "INTERNAL_SERVER_ERROR",
        f"Unexpected error (request id {request_id}).",
        {"requestId": request_id},
    )
