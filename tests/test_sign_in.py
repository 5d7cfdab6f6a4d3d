"""People sign in with a password: the session cookie, CSRF, sign-out, limits and lifetimes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.exceptions import InvalidStatus

from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.accounts import AuthenticationError, hash_token
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.errors import DomainError
from cmgraph.domain.models import SignInSession, utcnow
from cmgraph.domain.sign_in import (
    WRONG_CREDENTIALS,
    SessionPolicy,
    session_principal,
    set_password,
    start_session,
)
from cmgraph.http.app import create_app
from tests.databases import Database
from tests.graphql_ws import WsClient, uvicorn_server

PASSWORD = "correct horse battery"
VIEWER = "{ viewer { role user { email } } }"
RENAME = """mutation { renameGroup(input: {groupId: "R3JvdXA6MQ==", name: "x"}) {
    userErrors { code } } }"""


@pytest.fixture
async def ann(uow) -> int:
    async with uow() as u:
        user = await accounts.create_user(u, "ann@example.test", "Ann", OrgRole.CONTRIBUTOR)
        await set_password(u, user, PASSWORD)
        return user.id


def client_for(db: Database, settings: Settings | None = None) -> httpx.AsyncClient:
    app = create_app(settings or Settings.from_env({}), db.engine)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cmgraph.test")


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_a_person_signs_in_and_the_cookie_signs_in_graphql(db: Database, ann: int) -> None:
    async with client_for(db) as client:
        signed_in = await login(client, " Ann@Example.test ", PASSWORD)
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.json()["user"]["email"] == "ann@example.test"
        cookie = signed_in.headers["set-cookie"]
        assert cookie.startswith("cmgraph_session=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # the public URL is http
        answer = await client.post(
            "/graphql", json={"query": VIEWER}, headers={"X-CMGraph-CSRF": "1"}
        )
        assert answer.json()["data"]["viewer"] == {
            "role": "CONTRIBUTOR",
            "user": {"email": "ann@example.test"},
        }
        secret = client.cookies["cmgraph_session"]
    async with db.sessions() as session:
        stored = list(await session.scalars(select(SignInSession.token_hash)))
    assert stored == [hash_token(secret)]  # only the digest is kept


async def test_the_cookie_is_secure_behind_https(db: Database, ann: int) -> None:
    settings = Settings.from_env({}, public_url="https://cmgraph.test")
    async with client_for(db, settings) as client:
        signed_in = await login(client, "ann@example.test", PASSWORD)
    assert "Secure" in signed_in.headers["set-cookie"]


@pytest.mark.parametrize(
    ("email", "password"),
    [("ann@example.test", "wrong password!"), ("nobody@example.test", PASSWORD)],
)
async def test_wrong_credentials_get_the_same_answer(
    db: Database, ann: int, email: str, password: str
) -> None:
    async with client_for(db) as client:
        refused = await login(client, email, password)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["message"] == WRONG_CREDENTIALS
    assert code_of(refused) == "UNAUTHENTICATED"
    assert "set-cookie" not in refused.headers


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b'{"email": "a@b.c"}', {"Content-Type": "application/json"}, 400),
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b'["a@b.c", "x"]', {"Content-Type": "application/json"}, 400),
        (b"email=a%40b.c&password=x", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ],
)
async def test_a_malformed_login_is_a_json_4xx(
    db: Database, content: bytes, headers: dict[str, str], status: int
) -> None:
    async with client_for(db) as client:
        refused = await client.post("/auth/login", content=content, headers=headers)
    assert refused.status_code == status
    assert refused.json()["errors"][0]["message"]


async def test_changes_signed_in_by_the_cookie_need_the_csrf_header(
    db: Database, ann: int, token_for: Any
) -> None:
    async with client_for(db) as client:
        await login(client, "ann@example.test", PASSWORD)
        for document in (RENAME, VIEWER):  # every POST, a query too
            refused = await client.post("/graphql", json={"query": document})
            assert refused.status_code == 403 and code_of(refused) == "CSRF_HEADER_MISSING"
        read = await client.get("/graphql", params={"query": VIEWER})
        assert read.json()["data"]["viewer"]["role"] == "CONTRIBUTOR"
        sent = await client.post(
            "/graphql", json={"query": RENAME}, headers={"X-CMGraph-CSRF": "1"}
        )
        assert sent.status_code == 200 and "errors" not in sent.json()
        upload = await client.post(
            "/evidence/upload", data={"actionId": "x"}, files={"file": ("a.txt", b"a")}
        )
        assert upload.status_code == 403 and code_of(upload) == "CSRF_HEADER_MISSING"
    token = await token_for("script@example.test", OrgRole.OWNER)
    async with client_for(db) as client:  # tokens need no header, as before
        by_token = await client.post(
            "/graphql", json={"query": RENAME}, headers={"Authorization": f"Bearer {token}"}
        )
    assert by_token.status_code == 200 and "errors" not in by_token.json()


async def test_signing_out_ends_the_session(db: Database, ann: int) -> None:
    async with client_for(db) as client:
        await login(client, "ann@example.test", PASSWORD)
        secret = client.cookies["cmgraph_session"]
        forged = await client.post("/auth/logout")  # a cross-site form could do this much
        assert forged.status_code == 403
        signed_out = await client.post("/auth/logout", headers={"X-CMGraph-CSRF": "1"})
        assert signed_out.status_code == 200
        assert 'cmgraph_session=""' in signed_out.headers["set-cookie"]
    async with client_for(db) as replay:
        replay.cookies.set("cmgraph_session", secret)
        ended = await replay.get("/graphql", params={"query": VIEWER})
    assert ended.status_code == 401 and code_of(ended) == "UNAUTHENTICATED"
    assert "sign in again" in ended.json()["errors"][0]["message"]


async def test_failed_sign_ins_are_limited_per_account_in_every_process(
    db: Database, ann: int
) -> None:
    settings = Settings.from_env({})
    # Two apps on one database, as two server processes: the counts are in the database.
    async with client_for(db, settings) as first, client_for(db, settings) as second:
        for _ in range(settings.sign_in_max_failures):
            assert (await login(first, "ann@example.test", "wrong password!")).status_code == 401
        limited = await login(second, "ann@example.test", PASSWORD)  # even the right one
        assert limited.status_code == 429 and code_of(limited) == "TOO_MANY_ATTEMPTS"
        retry_after = int(limited.headers["Retry-After"])
        assert 0 < retry_after <= settings.sign_in_failure_window_minutes * 60
        assert limited.json()["errors"][0]["extensions"]["retryAfter"] == retry_after
        other = await login(second, "bob@example.test", "no such person")
        assert other.status_code == 401  # another account from the same address still counts


async def test_failed_sign_ins_are_limited_per_address(db: Database, ann: int) -> None:
    settings = Settings.from_env({"CMGRAPH_SIGN_IN_MAX_FAILURES_PER_ADDRESS": "3"})
    async with client_for(db, settings) as client:
        for i in range(3):
            assert (await login(client, f"guess{i}@example.test", "x" * 12)).status_code == 401
        limited = await login(client, "ann@example.test", PASSWORD)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


async def test_the_limit_lifts_when_the_failures_leave_the_window(db: Database, ann: int) -> None:
    policy = SessionPolicy.of(Settings.from_env({}))
    start = utcnow()
    for _ in range(policy.max_failures):
        with pytest.raises(AuthenticationError, match="Wrong email"):
            await start_session(
                db.sessions, policy, "ann@example.test", "wrong!", address="a", now=start
            )
    with pytest.raises(AuthenticationError, match="Too many"):
        await start_session(
            db.sessions, policy, "ann@example.test", PASSWORD, address="a", now=start
        )
    later = start + policy.window
    started = await start_session(
        db.sessions, policy, "ann@example.test", PASSWORD, address="a", now=later
    )
    assert started.user.id == ann


async def test_sessions_end_when_idle_and_at_their_lifetime(db: Database, ann: int) -> None:
    policy = SessionPolicy.of(Settings.from_env({}))
    start = utcnow()
    started = await start_session(
        db.sessions, policy, "ann@example.test", PASSWORD, address="a", now=start
    )
    secret = started.secret
    with pytest.raises(AuthenticationError):
        await session_principal(db.sessions, policy, secret, now=start + policy.idle)
    # Used often enough, it lives until its lifetime is over, and not a moment longer.
    moment = start
    while moment + policy.idle / 2 < start + policy.lifetime:
        moment += policy.idle / 2
        principal = await session_principal(db.sessions, policy, secret, now=moment)
        assert principal.user_id == ann
    with pytest.raises(AuthenticationError):
        await session_principal(db.sessions, policy, secret, now=start + policy.lifetime)


async def test_an_open_socket_alone_does_not_keep_a_session_from_its_idle_timeout(
    db: Database, ann: int
) -> None:
    policy = SessionPolicy.of(Settings.from_env({}))
    start = utcnow()
    started = await start_session(
        db.sessions, policy, "ann@example.test", PASSWORD, address="a", now=start
    )
    # A subscription's periodic re-check still signs in, but is not the person's activity.
    checked = await session_principal(
        db.sessions, policy, started.secret, activity=False, now=start + policy.idle / 2
    )
    assert checked.user_id == ann
    with pytest.raises(AuthenticationError):
        await session_principal(db.sessions, policy, started.secret, now=start + policy.idle)


async def test_passwords_follow_the_rules_and_a_new_one_ends_sessions(
    db: Database, uow, ann: int
) -> None:
    policy = SessionPolicy.of(Settings.from_env({}))
    started = await start_session(db.sessions, policy, "ann@example.test", PASSWORD, address="a")
    async with uow() as u:
        user = await accounts.user_by_email(u, "ann@example.test")
        with pytest.raises(DomainError, match="at least 12"):
            await set_password(u, user, "short")
    async with uow() as u:
        await set_password(u, await accounts.user_by_email(u, "ann@example.test"), "x" * 12)
    with pytest.raises(AuthenticationError):
        await session_principal(db.sessions, policy, started.secret)


async def test_automation_accounts_never_sign_in_with_a_password(db: Database, uow) -> None:
    async with uow() as u:
        robot = await accounts.create_user(
            u, "robot@example.test", "Robot", None, is_automation=True
        )
        await set_password(u, robot, PASSWORD)
    async with client_for(db) as client:
        assert (await login(client, "robot@example.test", PASSWORD)).status_code == 401


async def test_websockets_take_the_cookie_from_the_servers_own_origin_only(
    db: Database, ann: int
) -> None:
    app = create_app(Settings.from_env({}, background_work=False), db.engine)
    async with uvicorn_server(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            await login(client, "ann@example.test", PASSWORD)
            cookie = f"cmgraph_session={client.cookies['cmgraph_session']}"
        headers = {"Cookie": cookie}
        async with WsClient.connect(url, {}, additional_headers=headers, origin=url) as ws:
            assert (await ws.receive())["type"] == "connection_ack"
        other = "http://evil.example"  # a page elsewhere riding on the browser's cookie
        with pytest.raises(InvalidStatus) as refused:
            async with WsClient.connect(url, {}, additional_headers=headers, origin=other):
                pass
        assert refused.value.response.status_code == 403


APP = "http://app.test"  # a single-page app on another origin


def cors_client(db: Database) -> httpx.AsyncClient:
    return client_for(db, Settings.from_env({"CMGRAPH_CORS_ORIGINS": f"{APP}, https://x.test"}))


@pytest.mark.parametrize("path", ["/graphql", "/evidence/upload", "/auth/login"])
async def test_pages_on_allowed_origins_pass_the_preflight(db: Database, path: str) -> None:
    sent = "content-type,x-cmgraph-csrf,apollographql-client-name,authorization"
    async with cors_client(db) as client:
        preflight = await client.options(
            path,
            headers={
                "Origin": APP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": sent,
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == APP
        assert preflight.headers["access-control-allow-credentials"] == "true"
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert set(sent.split(",")) <= {h.strip() for h in allowed.split(",")}
        refused = await client.options(
            path,
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert refused.status_code == 400 and code_of(refused) == "BAD_REQUEST"
    assert "access-control-allow-origin" not in refused.headers


async def test_a_page_on_an_allowed_origin_signs_in_and_calls_the_api(
    db: Database, ann: int
) -> None:
    async with cors_client(db) as client:
        signed_in = await client.post(
            "/auth/login",
            json={"email": "ann@example.test", "password": PASSWORD},
            headers={"Origin": APP},
        )
        assert signed_in.headers["access-control-allow-origin"] == APP
        answer = await client.post(
            "/graphql",
            json={"query": VIEWER},
            headers={"Origin": APP, "X-CMGraph-CSRF": "1"},
        )
        assert answer.headers["access-control-allow-origin"] == APP
        assert answer.json()["data"]["viewer"]["role"] == "CONTRIBUTOR"
        other = await client.post(
            "/graphql", json={"query": VIEWER}, headers={"Origin": "http://evil.example"}
        )
    assert "access-control-allow-origin" not in other.headers  # the browser hides the answer
    async with client_for(db) as same_origin_only:
        plain = await same_origin_only.post(
            "/graphql", json={"query": VIEWER}, headers={"Origin": APP}
        )
    assert "access-control-allow-origin" not in plain.headers


async def test_websockets_from_allowed_origins_sign_in_by_cookie(db: Database, ann: int) -> None:
    settings = Settings.from_env({"CMGRAPH_CORS_ORIGINS": APP}, background_work=False)
    async with uvicorn_server(create_app(settings, db.engine)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            await login(client, "ann@example.test", PASSWORD)
            headers = {"Cookie": f"cmgraph_session={client.cookies['cmgraph_session']}"}
        async with WsClient.connect(url, {}, additional_headers=headers, origin=APP) as ws:
            assert (await ws.receive())["type"] == "connection_ack"


@pytest.mark.parametrize("origins", ["*", "app.test", "https://app.test/path", "ftp://x.test"])
def test_cors_origins_are_plain_origins(origins: str) -> None:
    with pytest.raises(ValueError, match="CMGRAPH_CORS_ORIGINS"):
        Settings.from_env({"CMGRAPH_CORS_ORIGINS": origins})
