"""Bearer-token authentication of HTTP requests (WebSocket connections sign in with the
same tokens in ``connection_init``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import Response
from starlette.types import Scope

from cmgraph.domain.accounts import AuthenticationError, sign_in
from cmgraph.domain.permissions import Principal
from cmgraph.http.errors import error_response


def bearer_token(scope: Scope) -> str | None:
    value = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authenticate_request(
    scope: Scope, sessions: async_sessionmaker[AsyncSession]
) -> Principal | Response:
    """The caller behind ``Authorization: Bearer <token>``, or the 401 response to send."""
    token = bearer_token(scope)
    if token is None:
        return error_response(
            401,
            "UNAUTHENTICATED",
            "Authentication required: send `Authorization: Bearer <API token>`.",
            **{"WWW-Authenticate": "Bearer"},
        )
    try:
        return await sign_in(sessions, token)
    except AuthenticationError as exc:
        return error_response(
            401,
            "UNAUTHENTICATED",
            str(exc),
            **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
