"""Single sign-on against a real OpenID provider (oidc-provider-mock, in a thread).

The browser's part is played by hand: the app is called through httpx's ASGI transport,
the provider over real HTTP, and each redirect is followed from one to the other. The
provider's consent page takes a form post naming the subject (``sub``) to sign in as;
its users and their claims are set with ``PUT /users/<sub>``.
"""

from __future__ import annotations

import json
import socket
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select, update
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from cmgraph.adapters.db import UnitOfWork
from cmgraph.config import ROLE_NAMES, Settings
from cmgraph.domain import accounts
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import AuditEvent, User, utcnow
from cmgraph.domain.sign_in import set_password
from cmgraph.http.app import create_app
from cmgraph.http.oidc import StarletteOAuth2App, safe_next
from tests.databases import Database

with warnings.catch_warnings():  # the provider is built on parts Authlib has deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    from oidc_provider_mock import run_server_in_thread

pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")

APP = "http://cmgraph.test"
CALLBACK = f"{APP}/auth/oidc/callback"
VIEWER = "{ viewer { role user { email name } } }"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    """One provider for the module; each test gives its users claims of their own."""
    with run_server_in_thread() as server:  # listening before this returns
        yield f"http://localhost:{server.server_port}"


def sso_settings(issuer: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "public_url": APP,
        "secret_key": "k" * 32,
        "oidc_issuer": issuer,
        "oidc_client_id": "cmgraph",
        "oidc_client_secret": "client secret",
    }
    return Settings.from_env({}, **{**values, **overrides})


@asynccontextmanager
async def app_client(db: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=APP) as client:
        yield client


async def provider_user(issuer: str, sub: str, **claims: Any) -> None:
    async with httpx.AsyncClient() as provider:
        answer = await provider.put(f"{issuer}/users/{sub}", json=claims)
    assert answer.status_code == 204, answer.text


async def leave_for_provider(client: httpx.AsyncClient, next_path: str | None = None) -> str:
    """``/auth/oidc/login``: the provider's authorization URL it redirects to."""
    started = await client.get("/auth/oidc/login", params={"next": next_path} if next_path else {})
    assert started.status_code == 302, started.text
    return started.headers["location"]


async def consent(authorize_url: str, form: dict[str, str]) -> str:
    """The person at the provider: the path and query it sends the browser back to."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.post(authorize_url, data=form)
    assert answer.status_code == 302, answer.text
    back = answer.headers["location"]
    assert back.startswith(CALLBACK + "?"), back
    return back.removeprefix(APP)


async def sign_in(
    client: httpx.AsyncClient, sub: str, next_path: str | None = None
) -> httpx.Response:
    """The whole trip: login, the provider, and the callback's answer."""
    back = await consent(await leave_for_provider(client, next_path), {"sub": sub})
    return await client.get(back)


async def viewer(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.post("/graphql", json={"query": VIEWER}, headers={"X-CMGraph-CSRF": "1"})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["viewer"]


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def add_user(db: Database, email: str, role: OrgRole | None, **fields: Any) -> int:
    async with UnitOfWork(db.sessions) as u:
        user = await accounts.create_user(u, email, email.split("@")[0].title(), role, **fields)
        return user.id


async def role_of(db: Database, email: str) -> OrgRole | None:
    async with db.sessions() as session:
        user = await session.scalar(select(User).where(User.email == email))
    assert user is not None, email
    return user.role


async def test_a_person_signs_in_with_sso_and_the_cookie_signs_in_graphql(
    db: Database, issuer: str
) -> None:
    await add_user(db, "ann@example.test", OrgRole.CONTRIBUTOR)
    await provider_user(issuer, "ann", email="Ann@Example.test", email_verified=True)
    async with app_client(db, sso_settings(issuer)) as client:
        started = await client.get("/auth/oidc/login", params={"next": "/actions/5"})
        assert started.status_code == 302, started.text
        authorize_url = started.headers["location"]
        asked = parse_qs(urlsplit(authorize_url).query)
        assert authorize_url.startswith(f"{issuer}/oauth2/authorize?")
        assert asked["redirect_uri"] == [CALLBACK] and asked["client_id"] == ["cmgraph"]
        assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"][0]
        assert asked["state"][0] and asked["nonce"][0]
        assert set(asked["scope"][0].split()) == {"openid", "email", "profile"}
        flow_cookie = started.headers["set-cookie"]  # the flow's own, not the session's
        assert flow_cookie.startswith("cmgraph_oidc=")
        assert "path=/auth/oidc;" in flow_cookie and "Max-Age=600" in flow_cookie
        assert "httponly" in flow_cookie and "samesite=lax" in flow_cookie
        assert "secure" not in flow_cookie  # the public URL is http

        back = await consent(authorize_url, {"sub": "ann"})
        signed_in = await client.get(back)
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == f"{APP}/actions/5"
        cookies = signed_in.headers.get_list("set-cookie")
        [session_cookie] = [c for c in cookies if c.startswith("cmgraph_session=")]
        assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
        assert "Path=/;" in session_cookie or session_cookie.endswith("Path=/")
        assert any(c.startswith("cmgraph_oidc=null") for c in cookies)  # the flow is over
        assert await viewer(client) == {
            "role": "CONTRIBUTOR",
            "user": {"email": "ann@example.test", "name": "Ann"},
        }


async def test_the_flow_cookie_is_secure_behind_https(db: Database, issuer: str) -> None:
    settings = sso_settings(issuer, public_url="https://cmgraph.test")
    async with app_client(db, settings) as client:
        started = await client.get("/auth/oidc/login")
    assert started.status_code == 302
    assert (
        "redirect_uri=https%3A%2F%2Fcmgraph.test%2Fauth%2Foidc%2Fcallback"
        in (started.headers["location"])
    )
    cookie = started.headers["set-cookie"]
    assert cookie.startswith("cmgraph_oidc=") and "secure" in cookie.lower()
    assert "samesite=lax" in cookie.lower() and "Max-Age=600" in cookie


async def test_a_wrong_state_is_refused(db: Database, issuer: str) -> None:
    await add_user(db, "ann@example.test", OrgRole.CONTRIBUTOR)
    await provider_user(issuer, "ann", email="ann@example.test", email_verified=True)
    async with app_client(db, sso_settings(issuer)) as client:
        back = await consent(await leave_for_provider(client), {"sub": "ann"})
        path, _, query = back.partition("?")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        forged = await client.get(f"{path}?{urlencode({**params, 'state': 'not-ours'})}")
        assert forged.status_code == 400 and code_of(forged) == "SSO_STATE_MISMATCH"
        assert "cmgraph_session" not in client.cookies
    # Nor does a callback reach anyone in a browser that never left for the provider.
    async with app_client(db, sso_settings(issuer)) as elsewhere:
        planted = await elsewhere.get(back)
    assert planted.status_code == 400 and code_of(planted) == "SSO_STATE_MISMATCH"


async def test_a_replayed_code_is_refused(db: Database, issuer: str) -> None:
    await add_user(db, "ann@example.test", OrgRole.CONTRIBUTOR)
    await provider_user(issuer, "ann", email="ann@example.test", email_verified=True)
    async with app_client(db, sso_settings(issuer)) as client:
        back = await consent(await leave_for_provider(client), {"sub": "ann"})
        flow = client.cookies["cmgraph_oidc"]
        assert (await client.get(back)).status_code == 303
        # The same browser again: its flow is over.
        again = await client.get(back)
        assert again.status_code == 400 and code_of(again) == "SSO_STATE_MISMATCH"
    # Someone who copied the flow's cookie too: the provider takes a code once.
    async with app_client(db, sso_settings(issuer)) as thief:
        replayed = await thief.get(back, headers={"Cookie": f"cmgraph_oidc={flow}"})
    assert replayed.status_code == 401 and code_of(replayed) == "SSO_CODE_REJECTED"
    assert (
        "set-cookie" not in replayed.headers
        or "cmgraph_session" not in (replayed.headers["set-cookie"])
    )


@pytest.mark.parametrize("verified", [False, "false", None])
async def test_an_unverified_email_is_refused(db: Database, issuer: str, verified: object) -> None:
    await add_user(db, "ann@example.test", OrgRole.CONTRIBUTOR)
    claims: dict[str, Any] = {"email": "ann@example.test"}
    if verified is not None:
        claims["email_verified"] = verified
    await provider_user(issuer, "ann-unverified", **claims)
    async with app_client(db, sso_settings(issuer)) as client:
        refused = await sign_in(client, "ann-unverified")
    assert refused.status_code == 403 and code_of(refused) == "SSO_EMAIL_NOT_VERIFIED"
    assert "cmgraph_session" not in client.cookies


async def test_an_unknown_person_is_refused_without_a_default_role(
    db: Database, issuer: str
) -> None:
    await provider_user(issuer, "newcomer", email="new@example.test", email_verified=True)
    async with app_client(db, sso_settings(issuer)) as client:
        refused = await sign_in(client, "newcomer")
    assert refused.status_code == 403 and code_of(refused) == "SSO_UNKNOWN_USER"
    async with db.sessions() as session:
        assert await session.scalar(select(User).where(User.email == "new@example.test")) is None


async def test_an_unknown_person_gets_the_default_role(db: Database, issuer: str) -> None:
    await provider_user(
        issuer, "newcomer", email="new@example.test", email_verified=True, name="Nia New"
    )
    async with app_client(db, sso_settings(issuer, oidc_default_role="READER")) as client:
        signed_in = await sign_in(client, "newcomer")
        assert signed_in.status_code == 303 and signed_in.headers["location"] == f"{APP}/"
        assert await viewer(client) == {
            "role": "READER",
            "user": {"email": "new@example.test", "name": "Nia New"},
        }
        # Signing in again finds the same person.
        assert (await sign_in(client, "newcomer")).status_code == 303
    async with db.sessions() as session:
        made = list(await session.scalars(select(User).where(User.email == "new@example.test")))
        audited = list(await session.scalars(select(AuditEvent)))
    assert len(made) == 1 and made[0].password_hash is None
    # Made once, and the audit trail says by whom: the provider, with no actor.
    assert [(e.action, e.actor_id, e.target_user_id, e.detail) for e in audited] == [
        (
            "USER_CREATED",
            None,
            made[0].id,
            {"email": "new@example.test", "name": "Nia New", "role": "READER", "source": "SSO"},
        )
    ]


async def test_groups_map_to_roles(db: Database, issuer: str, owner: Any) -> None:
    settings = sso_settings(
        issuer,
        oidc_role_claim="groups",
        oidc_role_map="cm-owners=OWNER, cm-staff=CONTRIBUTOR,cm-audit=ASSESSOR",
    )
    await add_user(db, "ann@example.test", OrgRole.READER)
    await add_user(db, "kim@example.test", OrgRole.ADMINISTRATOR)
    await provider_user(
        issuer, "ann", email="ann@example.test", email_verified=True, groups=["x", "cm-staff"]
    )
    await provider_user(issuer, "kim", email="kim@example.test", email_verified=True, groups=[])
    await provider_user(
        issuer,
        "sam",
        email="sam@example.test",
        email_verified=True,
        groups=["cm-audit", "cm-staff"],
    )
    async with app_client(db, settings) as client:
        assert (await sign_in(client, "ann")).status_code == 303
        assert (await viewer(client))["role"] == "CONTRIBUTOR"  # raised to the mapped role
    async with app_client(db, settings) as client:
        assert (await sign_in(client, "kim")).status_code == 303
        assert (await viewer(client))["role"] == "ADMINISTRATOR"  # no mapped group: kept
    async with app_client(db, settings) as client:
        # Without a default role, a mapped group alone admits nobody new.
        refused = await sign_in(client, "sam")
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["extensions"]["code"] == "SSO_UNKNOWN_USER"
    mapped_and_default = sso_settings(
        issuer,
        oidc_role_claim="groups",
        oidc_role_map="cm-owners=OWNER, cm-staff=CONTRIBUTOR,cm-audit=ASSESSOR",
        oidc_default_role="READER",
    )
    async with app_client(db, mapped_and_default) as client:
        # With one, the new person gets the mapped role; the highest wins.
        assert (await sign_in(client, "sam")).status_code == 303
        assert (await viewer(client))["role"] == "ASSESSOR"

    # The provider is where roles change: the next sign-in follows it, both ways.
    await provider_user(
        issuer, "ann", email="ann@example.test", email_verified=True, groups=["cm-owners"]
    )
    async with app_client(db, settings) as client:
        assert (await sign_in(client, "ann")).status_code == 303
    assert await role_of(db, "ann@example.test") is OrgRole.OWNER
    await provider_user(
        issuer, "ann", email="ann@example.test", email_verified=True, groups="cm-staff"
    )
    async with app_client(db, settings) as client:
        assert (await sign_in(client, "ann")).status_code == 303
    assert await role_of(db, "ann@example.test") is OrgRole.CONTRIBUTOR
    async with db.sessions() as session:
        audited = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    changes = [
        (e.detail["role"], e.actor_id)
        for e in audited
        if e.action == "USER_UPDATED" and e.detail.get("source") == "SSO"
    ]
    assert changes == [
        ({"from": "READER", "to": "CONTRIBUTOR"}, None),
        ({"from": "CONTRIBUTOR", "to": "OWNER"}, None),
        ({"from": "OWNER", "to": "CONTRIBUTOR"}, None),
    ]


async def test_the_last_owner_stays_one_whatever_the_groups(db: Database, issuer: str) -> None:
    settings = sso_settings(issuer, oidc_role_claim="groups", oidc_role_map="cm-staff=READER")
    await add_user(db, "solo@example.test", OrgRole.OWNER)
    await provider_user(
        issuer, "solo", email="solo@example.test", email_verified=True, groups=["cm-staff"]
    )
    async with app_client(db, settings) as client:
        assert (await sign_in(client, "solo")).status_code == 303
    assert await role_of(db, "solo@example.test") is OrgRole.OWNER


async def test_automation_and_disabled_accounts_never_sign_in_by_sso(
    db: Database, issuer: str
) -> None:
    await add_user(db, "robot@example.test", OrgRole.OWNER, is_automation=True)
    gone = await add_user(db, "gone@example.test", OrgRole.READER)
    async with db.sessions() as session, session.begin():
        await session.execute(update(User).where(User.id == gone).values(disabled_at=utcnow()))
    await provider_user(issuer, "robot", email="robot@example.test", email_verified=True)
    await provider_user(issuer, "gone", email="gone@example.test", email_verified=True)
    async with app_client(db, sso_settings(issuer, oidc_default_role="READER")) as client:
        for sub in ("robot", "gone"):
            refused = await sign_in(client, sub)
            assert refused.status_code == 403 and code_of(refused) == "SSO_NOT_ALLOWED", sub


async def test_a_refusal_at_the_provider_is_an_error(db: Database, issuer: str) -> None:
    async with app_client(db, sso_settings(issuer)) as client:
        back = await consent(await leave_for_provider(client), {"action": "deny"})
        denied = await client.get(back)
    assert denied.status_code == 401 and code_of(denied) == "SSO_DENIED"
    assert denied.json()["errors"][0]["extensions"]["providerError"] == "access_denied"


@pytest.mark.parametrize(
    "wanted",
    ["https://evil.example/x", "//evil.example", "/\\evil.example", "javascript:alert(1)", ""],
)
async def test_next_never_leaves_the_server(db: Database, issuer: str, wanted: str) -> None:
    await add_user(db, "ann@example.test", OrgRole.CONTRIBUTOR)
    await provider_user(issuer, "ann", email="ann@example.test", email_verified=True)
    async with app_client(db, sso_settings(issuer)) as client:
        signed_in = await sign_in(client, "ann", wanted)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == f"{APP}/"


@pytest.mark.parametrize(
    ("wanted", "safe"),
    [
        ("/actions/5", "/actions/5"),
        ("/alerts/3?tab=events#top", "/alerts/3?tab=events#top"),
        (None, "/"),
        ("actions/5", "/"),
        ("http://cmgraph.test/actions/5", "/"),
        ("//evil.example/actions", "/"),
        ("/\\evil.example", "/"),
        ("/\tx", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_safe_next(wanted: str | None, safe: str) -> None:
    assert safe_next(wanted) == safe


async def test_password_sign_in_can_be_turned_off(db: Database, issuer: str) -> None:
    async with UnitOfWork(db.sessions) as u:
        user = await accounts.create_user(u, "ann@example.test", "Ann", OrgRole.CONTRIBUTOR)
        await set_password(u, user, PASSWORD)
    await provider_user(issuer, "ann", email="ann@example.test", email_verified=True)
    async with app_client(db, sso_settings(issuer, password_sign_in=False)) as client:
        assert (await client.get("/auth/options")).json() == {"password": False, "sso": True}
        for path, body in (
            ("/auth/login", {"email": "ann@example.test", "password": PASSWORD}),
            ("/auth/forgot-password", {"email": "ann@example.test"}),
            ("/auth/password", {"token": "x", "password": PASSWORD}),
        ):
            refused = await client.post(path, json=body)
            assert refused.status_code == 403, path
            assert code_of(refused) == "PASSWORD_SIGN_IN_DISABLED", path
        assert (await sign_in(client, "ann")).status_code == 303
        assert (await viewer(client))["role"] == "CONTRIBUTOR"


async def test_without_sso_the_routes_are_not_found(db: Database) -> None:
    async with app_client(db, Settings.from_env({})) as client:
        assert (await client.get("/auth/options")).json() == {"password": True, "sso": False}
        for path in ("/auth/oidc/login", "/auth/oidc/callback?code=x&state=y"):
            missing = await client.get(path)
            assert missing.status_code == 404 and code_of(missing) == "NOT_FOUND", path


async def test_an_unreachable_provider_is_a_502(db: Database) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with app_client(db, sso_settings(f"http://127.0.0.1:{port}")) as client:
        down = await client.get("/auth/oidc/login")
    assert down.status_code == 502 and code_of(down) == "SSO_PROVIDER_UNAVAILABLE"
    assert "set-cookie" not in down.headers


async def test_a_provider_speaking_for_another_issuer_is_refused(db: Database, issuer: str) -> None:
    """Discovery's issuer must be the one configured, or one provider could pose as another."""
    metadata = {
        "issuer": issuer,  # a real provider's name, served from elsewhere
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "jwks_uri": f"{issuer}/jwks",
    }

    @Request.application
    def impostor(request: Request) -> Response:
        return Response(json.dumps(metadata), content_type="application/json")

    server = make_server("localhost", 0, impostor, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        settings = sso_settings(f"http://localhost:{server.server_port}")
        async with app_client(db, settings) as client:
            refused = await client.get("/auth/oidc/login")
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert refused.status_code == 502 and code_of(refused) == "SSO_PROVIDER_UNAVAILABLE"


async def test_other_requests_under_the_prefix_get_json_errors(db: Database, issuer: str) -> None:
    async with app_client(db, sso_settings(issuer)) as client:
        missing = await client.get("/auth/oidc/elsewhere")
        assert missing.status_code == 404 and code_of(missing) == "NOT_FOUND"
        posted = await client.post("/auth/oidc/login")
        assert posted.status_code == 405 and code_of(posted) == "METHOD_NOT_ALLOWED"
        bare = await client.get("/auth/oidc/callback")
        assert bare.status_code == 400 and code_of(bare) == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"oidc_issuer": "https://id.example"}, "together"),
        ({"oidc_client_id": "x", "oidc_client_secret": "y"}, "together"),
        ({"password_sign_in": False}, "PASSWORD_SIGN_IN"),
        ({"oidc_default_role": "READER"}, "needs CMGRAPH_OIDC_ISSUER"),
        ({"sso": "http://id.example"}, "https"),
        ({"sso": "https://id.example", "oidc_default_role": "BOSS"}, "DEFAULT_ROLE"),
        ({"sso": "https://id.example", "oidc_role_claim": "groups"}, "together"),
        ({"sso": "https://id.example", "oidc_role_map": "a=OWNER"}, "together"),
        (
            {"sso": "https://id.example", "oidc_role_claim": "g", "oidc_role_map": "a=BOSS"},
            "ROLE_MAP",
        ),
        (
            {"sso": "https://id.example", "oidc_role_claim": "g", "oidc_role_map": "a"},
            "ROLE_MAP",
        ),
        (
            {
                "sso": "https://id.example",
                "oidc_role_claim": "g",
                "oidc_role_map": "a=OWNER,a=READER",
            },
            "ROLE_MAP",
        ),
        ({"sso": "https://id.example", "oidc_scopes": "email"}, "openid"),
    ],
)
def test_single_sign_on_settings_are_checked_at_start(values: dict[str, Any], message: str) -> None:
    values = dict(values)
    if "sso" in values:
        values.update(oidc_issuer=values.pop("sso"), oidc_client_id="c", oidc_client_secret="s")
    with pytest.raises(ValueError, match=message):
        Settings(**values)


def test_settings_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "CMGRAPH_OIDC_ISSUER": "https://id.example/realms/x",
            "CMGRAPH_OIDC_CLIENT_ID": "cmgraph",
            "CMGRAPH_OIDC_CLIENT_SECRET": "very secret value",
            "CMGRAPH_OIDC_ROLE_CLAIM": "groups",
            "CMGRAPH_OIDC_ROLE_MAP": "cm-owners=OWNER,cm-staff=CONTRIBUTOR",
            "CMGRAPH_PASSWORD_SIGN_IN": "false",
        }
    )
    assert settings.oidc_roles == {"cm-owners": "OWNER", "cm-staff": "CONTRIBUTOR"}
    assert not settings.password_sign_in
    assert "very secret value" not in repr(settings)


def test_role_names_in_settings_are_the_domain_roles() -> None:
    assert set(ROLE_NAMES) == {role.value for role in OrgRole}


async def test_repeated_logins_keep_one_flow_and_a_callback_goes_to_its_own_next(
    db: Database, issuer: str
) -> None:
    """Each click on "sign in" used to add an hour-long state to the flow's cookie, until
    it outgrew the 4 KB browsers keep; and ``next`` was one, shared by every tab."""
    await add_user(db, "ann@example.test", OrgRole.CONTRIBUTOR)
    await provider_user(issuer, "ann", email="ann@example.test", email_verified=True)
    async with app_client(db, sso_settings(issuer)) as client:
        first_tab = await leave_for_provider(client, "/first")
        for attempt in range(40):
            started = await client.get("/auth/oidc/login", params={"next": f"/page/{attempt}"})
            assert started.status_code == 302
            assert len(started.headers["set-cookie"]) < 1_000, attempt
        second_tab = await leave_for_provider(client, "/second")
        # The flow left behind never lands on the newer flow's page...
        stale = await client.get(await consent(first_tab, {"sub": "ann"}))
        assert stale.status_code == 400 and code_of(stale) == "SSO_STATE_MISMATCH"
        assert "cmgraph_session" not in client.cookies
        # ...and the latest flow goes where it was started for (the stale callback ended
        # the flow, as every callback does: this tab starts again).
        second_tab = await leave_for_provider(client, "/second")
        back = await consent(second_tab, {"sub": "ann"})
        signed_in = await client.get(back)
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == f"{APP}/second"


def tamper_token(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    """Let ``change`` alter the provider's token response before Authlib checks it."""
    original = StarletteOAuth2App.fetch_access_token

    async def fetched(self: Any, *args: Any, **kwargs: Any) -> Any:
        return change(await original(self, *args, **kwargs))

    monkeypatch.setattr(StarletteOAuth2App, "fetch_access_token", fetched)


def change_claims(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    """Let ``change`` alter the ID token's checked claims (as if the token said so)."""
    original = StarletteOAuth2App.parse_id_token

    async def parsed(self: Any, *args: Any, **kwargs: Any) -> Any:
        return change(dict(await original(self, *args, **kwargs)))

    monkeypatch.setattr(StarletteOAuth2App, "parse_id_token", parsed)


def _bad_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    def flipped(token: dict[str, Any]) -> dict[str, Any]:
        header, payload, signature = token["id_token"].split(".")
        signature = ("A" if signature[0] != "A" else "B") + signature[1:]
        return {**token, "id_token": f"{header}.{payload}.{signature}"}

    tamper_token(monkeypatch, flipped)


def _other_nonce(monkeypatch: pytest.MonkeyPatch) -> None:
    """A genuine ID token, for another sign-in than the one this browser started."""
    original = StarletteOAuth2App.parse_id_token

    async def parsed(self: Any, token: Any, nonce: str, **kwargs: Any) -> Any:
        return await original(self, token, "another sign-in's nonce", **kwargs)

    monkeypatch.setattr(StarletteOAuth2App, "parse_id_token", parsed)


@pytest.mark.parametrize("tampering", [_bad_signature, _other_nonce])
async def test_an_id_token_that_does_not_verify_is_refused(
    db: Database, issuer: str, monkeypatch: pytest.MonkeyPatch, tampering: Any
) -> None:
    await add_user(db, "ann@example.test", OrgRole.CONTRIBUTOR)
    await provider_user(issuer, "ann", email="ann@example.test", email_verified=True)
    tampering(monkeypatch)
    async with app_client(db, sso_settings(issuer)) as client:
        refused = await sign_in(client, "ann")
        assert refused.status_code == 401, refused.text
        assert code_of(refused) == "SSO_INVALID_ID_TOKEN"
        assert "cmgraph_session" not in client.cookies


async def test_a_bug_of_ours_is_a_500_not_the_providers_502(
    db: Database, issuer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(token: dict[str, Any]) -> dict[str, Any]:
        raise TypeError("a bug in cmgraph")

    tamper_token(monkeypatch, broken)
    await provider_user(issuer, "ann", email="ann@example.test", email_verified=True)
    async with app_client(db, sso_settings(issuer)) as client:
        failed = await sign_in(client, "ann")
    assert failed.status_code == 500 and code_of(failed) == "INTERNAL_SERVER_ERROR"


async def test_claims_missing_from_the_id_token_come_from_userinfo_for_the_same_subject(
    db: Database, issuer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_user(db, "ann@example.test", OrgRole.CONTRIBUTOR)
    await provider_user(issuer, "ann", email="ann@example.test", email_verified=True)

    def without_email(claims: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in claims.items() if k not in ("email", "email_verified")}

    change_claims(monkeypatch, without_email)
    async with app_client(db, sso_settings(issuer)) as client:
        signed_in = await sign_in(client, "ann")
        assert signed_in.status_code == 303, signed_in.text
        assert (await viewer(client))["user"]["email"] == "ann@example.test"

    # Userinfo about another subject is ignored: the email is then missing.
    change_claims(monkeypatch, lambda claims: {**without_email(claims), "sub": "someone-else"})
    async with app_client(db, sso_settings(issuer)) as client:
        refused = await sign_in(client, "ann")
    assert refused.status_code == 403 and code_of(refused) == "SSO_EMAIL_MISSING"
