"""``/auth/*``: a browser's session cookie, and the links that set a password.

``POST /auth/login`` signs in, ``POST /auth/logout`` signs out, ``POST
/auth/forgot-password`` emails a reset link (answering the same whoever is asked for), and
``POST /auth/password`` takes a link's token and a new password, then signs in with it.
``GET /auth/options`` tells a front end which ways of signing in there are; with
``CMGRAPH_PASSWORD_SIGN_IN=false`` the three password routes answer 403
``PASSWORD_SIGN_IN_DISABLED`` (single sign-on only, ``http.oidc``).

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
from cmgraph.adapters.db import UnitOfWork
from cmgraph.adapters.storage import link_key
from cmgraph.config import Settings
from cmgraph.domain.accounts import AuthenticationError
from cmgraph.domain.errors import DomainError
from cmgraph.domain.password_links import request_reset, use_link
from cmgraph.domain.sign_in import (
    SessionPolicy,
    StartedSession,
    TooManyAttempts,
    end_session,
    start_session,
)
from cmgraph.http.auth import SESSION_COOKIE, csrf_header_present, csrf_refusal, session_secret
from cmgraph.http.errors import error_response

OPTIONS_PATH = "/auth/options"
LOGIN_PATH = "/auth/login"
LOGOUT_PATH = "/auth/logout"
FORGOT_PATH = "/auth/forgot-password"
PASSWORD_PATH = "/auth/password"
RESET_REQUESTED = "If an account has this email, a link to reset its password is on its way."


def sign_in_routes(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> list[Route]:
    policy = SessionPolicy.of(settings)
    secure = settings.public_url.startswith("https://")

    async def login(request: Request) -> Response:
        if not settings.password_sign_in:
            return password_sign_in_off()
        body = await _fields(request, "email", "password")
        if isinstance(body, Response):
            return body
        return await _signed_in(request, body["email"], body["password"])

    async def _signed_in(request: Request, email: str, password: str) -> Response:
        client = request.client.host if request.client else ""
        try:
            started = await start_session(
                sessions,
                policy,
                email,
                password,
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
        set_session_cookie(response, started, policy, secure=secure)
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

    async def forgot_password(request: Request) -> Response:
        if not settings.password_sign_in:
            return password_sign_in_off()
        body = await _fields(request, "email")
        if isinstance(body, Response):
            return body
        async with UnitOfWork(sessions) as uow:
            await request_reset(uow, body["email"])
        return JSONResponse({"message": RESET_REQUESTED}, status_code=202)

    async def set_password(request: Request) -> Response:
        """An invitation's or a reset's link: the new password, then signed in with it."""
        if not settings.password_sign_in:
            return password_sign_in_off()
        body = await _fields(request, "token", "password")
        if isinstance(body, Response):
            return body
        try:
            async with UnitOfWork(sessions) as uow:
                used = await use_link(uow, link_key(settings), body["token"], body["password"])
                email = used.user.email
        except DomainError as refused:
            return error_response(
                400, refused.code.value, refused.message, {"field": refused.field}
            )
        return await _signed_in(request, email, body["password"])

    async def options(request: Request) -> Response:
        """How a front end may offer to sign in: with a password, single sign-on, or both."""
        return JSONResponse(
            {"password": settings.password_sign_in, "sso": bool(settings.oidc_issuer)}
        )

    return [
        Route(OPTIONS_PATH, options, methods=["GET"]),
        Route(LOGIN_PATH, login, methods=["POST"]),
        Route(LOGOUT_PATH, logout, methods=["POST"]),
        Route(FORGOT_PATH, forgot_password, methods=["POST"]),
        Route(PASSWORD_PATH, set_password, methods=["POST"]),
    ]


def set_session_cookie(
    response: Response, started: StartedSession, policy: SessionPolicy, *, secure: bool
) -> None:
    """The browser's session cookie, however the person signed in (password or SSO)."""
    response.set_cookie(
        SESSION_COOKIE,
        started.secret,
        max_age=int(policy.lifetime.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def password_sign_in_off() -> Response:
    return error_response(
        403,
        "PASSWORD_SIGN_IN_DISABLED",
        "Passwords are turned off on this server: sign in with single sign-on "
        "(GET /auth/oidc/login).",
    )


async def _fields(request: Request, *names: str) -> dict[str, str] | Response:
    """The string fields ``names`` of a JSON object body, else the 4xx to answer."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return error_response(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.")
    try:
        body: Any = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return error_response(400, "BAD_REQUEST", "The body is not valid JSON.")
    if not (isinstance(body, dict) and all(isinstance(body.get(n), str) for n in names)):
        wanted = ", ".join(f'"{n}": "..."' for n in names)
        return error_response(400, "BAD_REQUEST", f"Send {{{wanted}}} as strings.")
    return {n: body[n] for n in names}
