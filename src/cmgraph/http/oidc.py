"""``/auth/oidc/*``: single sign-on with an OpenID Connect provider, by Authlib's client.

``GET /auth/oidc/login?next=/actions/5`` sends the browser to the provider with a state, a
nonce and a PKCE challenge (S256). ``GET /auth/oidc/callback`` is where the provider sends
it back: the code is exchanged (with the PKCE verifier) for an ID token, whose signature,
issuer, audience, expiry and nonce are checked; ``domain.single_sign_on`` decides whom the
verified email makes signed in; the answer sets the same ``cmgraph_session`` cookie as a
password sign-in and redirects (303) to ``next``, a path on this server (anything else
becomes ``/``). A refusal is a JSON error, as everywhere else in the API.

Authlib keeps the state, nonce, verifier and redirect URI in ``request.session``: a cookie
(``cmgraph_oidc``) of its own, only for these routes (Path=/auth/oidc), signed with a key
derived from the server's, valid 10 minutes, HttpOnly, SameSite=Lax (the provider's
redirect back is a top-level navigation, which carries Lax cookies) and Secure behind
https. The provider's metadata is read when the first person signs in, not at start-up,
with a timeout, so a provider that is down delays nothing but single sign-on (502 until
it answers).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import authlib.deprecate
import httpx
from joserfc.errors import JoseError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router

from cmgraph.adapters.storage import link_key
from cmgraph.config import Settings
from cmgraph.domain.sign_in import SessionPolicy
from cmgraph.domain.single_sign_on import (
    SSO_PATH,
    Identity,
    Refusal,
    SingleSignOnPolicy,
    SingleSignOnRefused,
    sign_in_with_identity,
)
from cmgraph.http.errors import error_response
from cmgraph.http.sign_in import set_session_cookie

with warnings.catch_warnings():
    # Authlib would rather use httpx2 and says so, always, on import; httpx serves it well
    # (and is what the rest of this project uses). Its own filter must come first to be
    # overridden, hence the import of ``authlib.deprecate`` above.
    warnings.filterwarnings(
        "ignore", "The httpx module is deprecated", authlib.deprecate.AuthlibDeprecationWarning
    )
    from authlib.integrations.starlette_client import OAuth, OAuthError
    from authlib.integrations.starlette_client.apps import StarletteOAuth2App

log = logging.getLogger("cmgraph.sso")

PREFIX = SSO_PATH
LOGIN_PATH = f"{PREFIX}/login"
CALLBACK_PATH = f"{PREFIX}/callback"
STATE_COOKIE = "cmgraph_oidc"
STATE_MAX_AGE = 600  # seconds from leaving for the provider to coming back
PROVIDER_TIMEOUT = 10.0  # seconds for each request to the provider
MAX_NEXT_LENGTH = 2000
_NEXT = "cmgraph_next"  # where the flow in progress goes once signed in

try:  # Authlib's client is httpx2's when that is installed, else httpx's
    import httpx2

    _HTTP_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx2.HTTPError)
except ImportError:
    _HTTP_ERRORS = (httpx.HTTPError,)
# What a provider that is down or answers nonsense raises (``resp.json()``: a
# JSONDecodeError); anything else is a bug of ours, a 500, not the provider's 502.
_PROVIDER_ERRORS: tuple[type[Exception], ...] = (*_HTTP_ERRORS, json.JSONDecodeError)
# Reading the metadata runs none of our code: Authlib merges what the provider sent into a
# dict, which fails with TypeError or ValueError when that is not a JSON object.
_METADATA_ERRORS: tuple[type[Exception], ...] = (*_PROVIDER_ERRORS, TypeError, ValueError)

_REFUSALS = {  # the domain's refusals: status and code
    Refusal.EMAIL_MISSING: (403, "SSO_EMAIL_MISSING"),
    Refusal.EMAIL_NOT_VERIFIED: (403, "SSO_EMAIL_NOT_VERIFIED"),
    Refusal.UNKNOWN_USER: (403, "SSO_UNKNOWN_USER"),
    Refusal.AUTOMATION_ACCOUNT: (403, "SSO_NOT_ALLOWED"),
    Refusal.ACCOUNT_DISABLED: (403, "SSO_NOT_ALLOWED"),
}


class ProviderUnavailable(Exception):
    """The provider did not answer, or not as an OpenID provider should (502)."""


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this server, else ``/``: never another origin.

    Refused: absolute URLs, scheme-relative ones (``//evil.example``), backslashes (which
    browsers read as slashes), control characters and anything very long.
    """
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return "/"
    if value.startswith("//") or "\\" in value or any(c < " " or c == "\x7f" for c in value):
        return "/"
    parts = urlsplit(value)
    return "/" if parts.scheme or parts.netloc else value


def oidc_routes(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> list[BaseRoute]:
    if not settings.oidc_issuer:
        return [Route(f"{PREFIX}/{{rest:path}}", _not_configured, methods=["GET"])]
    provider = _Provider(settings)
    session_policy = SessionPolicy.of(settings)
    sso_policy = SingleSignOnPolicy.of(settings)  # checked here, at start-up
    public = settings.public_url.rstrip("/")
    secure = settings.public_url.startswith("https://")

    async def login(request: Request) -> Response:
        target = safe_next(request.query_params.get("next"))
        # One flow per browser: Authlib would add a state of an hour to the cookie at every
        # click, until it outgrew the 4 KB browsers keep, and ``next`` is the flow's. A
        # flow left behind (another tab) then ends in SSO_STATE_MISMATCH, never in the
        # newer flow's ``next``.
        request.session.clear()
        try:
            await provider.discover()
            response: Response = await provider.client.authorize_redirect(
                request, public + CALLBACK_PATH
            )
        except ProviderUnavailable as error:
            return _unavailable(error)
        request.session[_NEXT] = target
        return response

    async def callback(request: Request) -> Response:
        params = request.query_params
        target = safe_next(request.session.get(_NEXT))
        try:
            if "error" in params:
                # The person declined, or the provider refused the request.
                return error_response(
                    401,
                    "SSO_DENIED",
                    "The identity provider did not sign you in.",
                    {"providerError": params["error"][:100]},
                )
            if not params.get("code") or not params.get("state"):
                return error_response(
                    400, "BAD_REQUEST", "The identity provider's answer has no code or state."
                )
            claims = await provider.claims(request)
        except ProviderUnavailable as error:
            return _unavailable(error)
        except _Refused as refused:
            return refused.response
        finally:
            request.session.clear()  # one attempt per trip to the provider
        client = request.client.host if request.client else ""
        try:
            started = await sign_in_with_identity(
                sessions,
                session_policy,
                sso_policy,
                Identity.from_claims(claims, settings.oidc_role_claim),
                address=client,
                user_agent=request.headers.get("user-agent", ""),
            )
        except SingleSignOnRefused as refused:
            status, code = _REFUSALS[refused.reason]
            return error_response(status, code, str(refused))
        response = RedirectResponse(public + target, status_code=303)
        set_session_cookie(response, started, session_policy, secure=secure)
        return response

    flow = SessionMiddleware(
        Router([Route("/login", login, methods=["GET"]), Route("/callback", callback)]),
        secret_key=_state_key(settings),
        session_cookie=STATE_COOKIE,
        max_age=STATE_MAX_AGE,
        path=urlsplit(settings.public_url).path.rstrip("/") + PREFIX,
        same_site="lax",
        https_only=secure,
    )
    return [Mount(PREFIX, app=flow)]


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class _Provider:
    """Authlib's client for the configured provider, and the checks around it."""

    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self.role_claim = settings.oidc_role_claim
        client = OAuth().register(
            "oidc",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=self.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": settings.oidc_scopes,
                "code_challenge_method": "S256",
                "timeout": PROVIDER_TIMEOUT,
            },
        )
        assert isinstance(client, StarletteOAuth2App)
        self.client = client

    async def discover(self) -> dict[str, Any]:
        """The provider's metadata (read once, and again after a failure), or 502.

        Its issuer must be the configured one exactly (OpenID Connect Discovery, 4.3), or a
        provider could speak for another.
        """
        try:
            metadata: dict[str, Any] = await self.client.load_server_metadata()
        except _METADATA_ERRORS as error:
            self.client.server_metadata.clear()
            raise ProviderUnavailable(f"its metadata could not be read ({error!r})") from None
        wanted = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        problem = ""
        if not all(isinstance(metadata.get(key), str) for key in wanted):
            problem = f"its metadata lacks one of {', '.join(wanted)}"
        elif metadata["issuer"].rstrip("/") != self.issuer.rstrip("/"):
            problem = f"its metadata names the issuer {metadata['issuer']!r}, not {self.issuer!r}"
        if problem:
            self.client.server_metadata.clear()
            raise ProviderUnavailable(problem)
        return metadata

    async def claims(self, request: Request) -> Mapping[str, object]:
        """The checked ID token's claims (filled in from the userinfo endpoint when the
        email or the group claim is not in the token), or ``_Refused``/``ProviderUnavailable``.
        """
        metadata = await self.discover()
        try:
            token = await self.client.authorize_access_token(
                request,
                claims_options={
                    "iss": {"essential": True, "value": metadata["issuer"]},
                    "aud": {"essential": True, "value": self.client_id},
                },
            )
        except OAuthError as error:
            if error.error == "mismatching_state":
                raise _Refused(
                    error_response(
                        400,
                        "SSO_STATE_MISMATCH",
                        "This sign-in was not started here, or has expired: start again.",
                    )
                ) from None
            # The token endpoint refused the code: used already, expired, or not ours.
            raise _Refused(
                error_response(
                    401,
                    "SSO_CODE_REJECTED",
                    "The identity provider refused the sign-in code: start again.",
                    {"providerError": str(error.error)[:100]},
                )
            ) from None
        except JoseError as error:
            log.warning("single sign-on: an ID token was refused: %r", error)
            raise _Refused(
                error_response(
                    401, "SSO_INVALID_ID_TOKEN", "The identity provider's ID token is not valid."
                )
            ) from None
        except _PROVIDER_ERRORS as error:
            raise ProviderUnavailable(f"the code could not be exchanged ({error!r})") from None
        claims: dict[str, object] | None = token.get("userinfo")
        if not claims:
            raise _Refused(
                error_response(
                    401, "SSO_INVALID_ID_TOKEN", "The identity provider sent no ID token."
                )
            )
        email_missing = claims.get("email") is None or claims.get("email_verified") is None
        group_missing = bool(self.role_claim) and claims.get(self.role_claim.split(".")[0]) is None
        if metadata.get("userinfo_endpoint") and (email_missing or group_missing):
            info = await self._userinfo(token, claims)
            claims = dict(claims)
            if email_missing:  # the address and whether it is verified, from one source
                claims["email"] = info.get("email")
                claims["email_verified"] = info.get("email_verified")
            if group_missing:
                claims = {**info, **claims}
        return claims

    async def _userinfo(
        self, token: dict[str, Any], claims: Mapping[str, object]
    ) -> dict[str, Any]:
        try:
            response = await self.client.get(
                (await self.discover())["userinfo_endpoint"], token=token
            )
            response.raise_for_status()
            info = response.json()
        except _PROVIDER_ERRORS as error:
            raise ProviderUnavailable(f"its userinfo could not be read ({error!r})") from None
        # OpenID Connect Core 5.3.2: claims about anyone but the token's subject are ignored.
        if not isinstance(info, dict) or info.get("sub") != claims.get("sub"):
            return {}
        return info


def _state_key(settings: Settings) -> str:
    """The key that signs the flow's cookie: the server's, derived for this one purpose."""
    return hmac.new(link_key(settings), b"cmgraph oidc state", hashlib.sha256).hexdigest()


def _unavailable(error: ProviderUnavailable) -> Response:
    log.warning("single sign-on: the identity provider is unavailable: %s", error)
    return error_response(
        502,
        "SSO_PROVIDER_UNAVAILABLE",
        "The identity provider is not answering; try again shortly.",
    )


async def _not_configured(request: Request) -> Response:
    return error_response(404, "NOT_FOUND", "Single sign-on is not configured on this server.")
