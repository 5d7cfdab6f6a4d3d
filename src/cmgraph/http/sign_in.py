"""``POST /auth/login`` and ``POST /auth/logout``: a browser's session cookie.

The login body is JSON (``{"email", "password"}``): a form post from another site cannot
send that content type without a preflight, so nobody can sign a browser in behind its
user's back. The cookie is HttpOnly (scripts never see it), SameSite=Lax (other sites'
requests do not carry it, except top-level navigation) and Secure when the public URL is
https. Signing out is a change like any other: it needs the CSRF header.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cmgraph import global_ids
from cmgraph.config import Settings
from cmgraph.domain.accounts import AuthenticationError
from cmgraph.domain.sign_in import SessionPolicy, TooManyAttempts, end_session, start_session
from cmgraph.http.auth import SESSION_COOKIE, csrf_header_present, csrf_refusal, session_secret
from cmgraph.http.errors import error_response

LOGIN_PATH = "/auth/login"
LOGOUT_PATH = "/auth/logout"


def sign_in_routes(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> list[Route]:
    policy = SessionPolicy.of(settings)
    secure = settings.public_url.startswith("https://")

    async def login(request: Request) -> Response:
        body = await _credentials(request)
        if isinstance(body, Response):
            return body
        client = request.client.host if request.client else ""
        try:
            started = await start_session(
                sessions,
                policy,
                body["email"],
                body["password"],
                address=client,
                user_agent=request.headers.get("user-agent", ""),
            )
        except TooManyAttempts as refused:
            return error_response(
                429,
                "TOO_MANY_ATTEMPTS",
                str(refused),
                {"retryAfter": refused.retry_after},
                **{"Retry-After": str(refused.retry_after)},
            )
        except AuthenticationError as refused:
            return error_response(401, "UNAUTHENTICATED", str(refused))
        user = started.user
        response = JSONResponse(
            {
                "user": {
                    "id": global_ids.encode("User", user.id),
                    "email": user.email,
                    "name": user.name,
                    "role": user.role.value if user.role else None,
                },
                "expiresAt": started.expires_at.isoformat(),
            }
        )
        response.set_cookie(
            SESSION_COOKIE,
            started.secret,
            max_age=int(policy.lifetime.total_seconds()),
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )
        return response

    async def logout(request: Request) -> Response:
        secret = session_secret(request.scope)
        if secret is not None and not csrf_header_present(request.scope):
            return csrf_refusal()
        if secret is not None:
            await end_session(sessions, secret)
        response = JSONResponse({"signedOut": True})
        response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True)
        return response

    return [
        Route(LOGIN_PATH, login, methods=["POST"]),
        Route(LOGOUT_PATH, logout, methods=["POST"]),
    ]


async def _credentials(request: Request) -> dict[str, str] | Response:
    """``{"email", "password"}`` from a JSON body, else the 4xx to answer."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return error_response(
            415, "UNSUPPORTED_MEDIA_TYPE", "Send the credentials as application/json."
        )
    try:
        body: Any = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return error_response(400, "BAD_REQUEST", "The body is not valid JSON.")
    if not (
        isinstance(body, dict)
        and isinstance(body.get("email"), str)
        and isinstance(body.get("password"), str)
    ):
        return error_response(
            400, "BAD_REQUEST", 'Send {"email": "...", "password": "..."} as strings.'
        )
    return {"email": body["email"], "password": body["password"]}
