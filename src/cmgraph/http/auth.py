"""Who is calling: a Bearer token (scripts, automation) or a browser's session cookie.

CSRF: a browser attaches the session cookie to any request, forged cross-site ones included,
so a request signed in by the cookie that may change anything must also carry the header
``X-CMGraph-CSRF`` (any non-empty value). A custom header makes the request non-simple: a
page on another origin cannot send it without a CORS preflight, which it does not pass.
Uploads need the header whatever signs them in. Bearer tokens are never attached by a
browser on its own, so requests signed in by a token need nothing more.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import cookie_parser
from starlette.responses import Response
from starlette.types import Scope

from cmgraph.config import Settings
from cmgraph.domain.accounts import AuthenticationError, sign_in
from cmgraph.domain.permissions import Principal
from cmgraph.domain.sign_in import SessionPolicy, session_principal
from cmgraph.http.errors import error_response

SESSION_COOKIE = "cmgraph_session"
CSRF_HEADER = "X-CMGraph-CSRF"


def _header(scope: Scope, name: bytes) -> str:
    return dict(scope.get("headers") or []).get(name, b"").decode("latin-1")


def bearer_token(scope: Scope) -> str | None:
    scheme, _, token = _header(scope, b"authorization").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def session_secret(scope: Scope) -> str | None:
    return cookie_parser(_header(scope, b"cookie")).get(SESSION_COOKIE) or None


def csrf_header_present(scope: Scope) -> bool:
    """Whether the request carries the non-simple header that browsers preflight."""
    return bool(_header(scope, CSRF_HEADER.lower().encode()).strip())


def csrf_refusal() -> Response:
    return error_response(
        403,
        "CSRF_HEADER_MISSING",
        f"Send the header `{CSRF_HEADER}: 1` with uploads and with every change made from a "
        "signed-in browser (protection against cross-site requests).",
    )


async def authenticate_request(
    scope: Scope,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    changes: bool,
) -> Principal | Response:
    """The caller, or the response to send: 401 without valid credentials, 403 for a change
    signed in by the session cookie without the CSRF header."""
    token = bearer_token(scope)
    secret = session_secret(scope) if token is None else None
    if token is None and secret is None:
        return error_response(
            401,
            "UNAUTHENTICATED",
            "Authentication required: sign in (POST /auth/login), or send "
            "`Authorization: Bearer <API token>`.",
            **{"WWW-Authenticate": "Bearer"},
        )
    try:
        if token is not None:
            return await sign_in(sessions, token)
        assert secret is not None
        principal = await session_principal(sessions, SessionPolicy.of(settings), secret)
    except AuthenticationError as exc:
        return error_response(
            401,
            "UNAUTHENTICATED",
            str(exc),
            **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if changes and not csrf_header_present(scope):
        return csrf_refusal()
    return principal
