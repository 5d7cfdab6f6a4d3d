"""Owners manage people over GraphQL: roles, disabling, grants, tokens, sessions, the audit
trail, and assigning work to someone who cannot read it yet."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from strawberry.relay import to_base64
from typer.testing import CliRunner

from cmgraph.alerts.sender import send_due
from cmgraph.alerts.transports import make_transport
from cmgraph.cli import app as cli_app
from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import Grant, Notification, Template, utcnow
from cmgraph.domain.password_links import SET_PASSWORD_PATH
from cmgraph.domain.sign_in import set_password
from cmgraph.http.app import create_app
from tests.builders import worked_example
from tests.databases import POSTGRES_URL, Database
from tests.graphql_ws import WsClient, hub_of, subscribed, uvicorn_server

PUBLIC_URL = "https://cm.example.test"
PASSWORD = "correct horse battery"
VIEWER = "{ viewer { user { id email } role } }"
ERRORS = "userErrors { field code message }"
UPDATE = f"""mutation($input: UpdateUserInput!) {{
  updateUser(input: $input) {{ user {{ name role disabledAt }} {ERRORS} }} }}"""
GRANT = f"""mutation($input: GrantAccessInput!) {{
  grantAccess(input: $input) {{
    grant {{ id role assessment {{ name }} regulation {{ name }} }} user {{ email }} {ERRORS} }} }}"""
REVOKE_GRANT = f"""mutation($input: RevokeGrantInput!) {{
  revokeGrant(input: $input) {{ user {{ email }} {ERRORS} }} }}"""
CREATE_TOKEN = f"""mutation($input: CreateApiTokenInput!) {{
  createApiToken(input: $input) {{
    token {{ id name prefix expiresAt active }} secret {ERRORS} }} }}"""
REVOKE_TOKEN = f"""mutation($input: RevokeApiTokenInput!) {{
  revokeApiToken(input: $input) {{ token {{ active revokedAt }} {ERRORS} }} }}"""
END_SESSION = f"""mutation($input: EndSessionInput!) {{
  endSession(input: $input) {{ session {{ active endedAt }} {ERRORS} }} }}"""
END_SESSIONS = f"""mutation($input: EndSessionsInput!) {{
  endSessions(input: $input) {{ endedCount user {{ email }} {ERRORS} }} }}"""
PERSON = """query($id: ID!, $ended: Boolean) { node(id: $id) { ... on User {
  email disabledAt
  grants { id role assessment { name } regulation { name } }
  apiTokens { id name prefix active }
  sessions(includeEnded: $ended) { id active endedAt userAgent } } } }"""
AUDIT = """query($user: ID, $first: Int, $after: String) {
  auditEvents(userId: $user, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { action detail createdAt actor { email } targetUser { email } } } }"""
ASSIGN = f"""mutation($input: AssignImprovementActionsInput!) {{
  assignImprovementActions(input: $input) {{
    improvementActions {{ assignee {{ email }} }} {ERRORS} }} }}"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {}, public_url=PUBLIC_URL, mail_dir=tmp_path / "mail", data_dir=tmp_path / "data"
    )


def browser(db: Database, settings: Settings) -> httpx.AsyncClient:
    application = create_app(settings, db.engine)
    transport = httpx.ASGITransport(app=application)
    return httpx.AsyncClient(transport=transport, base_url="https://cm.test")


async def token_of(uow: Any, email: str) -> str:
    """An API token for an existing person (the ``owner`` fixture has none)."""
    async with uow() as u:
        user = await accounts.user_by_email(u, email)
        return (await accounts.create_token(u, user, "test")).secret


async def user_id(api: Any, token: str) -> str:
    return str((await api.query(VIEWER, token=token))["viewer"]["user"]["id"])


async def with_password(uow: Any, email: str, role: OrgRole | None) -> str:
    """A person who signs in with ``PASSWORD``; returns their global id."""
    async with uow() as u:
        user = await accounts.create_user(u, email, email.split("@")[0].title(), role)
        await set_password(u, user, PASSWORD)
        return to_base64("User", user.id)


async def signed_in(client: httpx.AsyncClient, email: str) -> None:
    answer = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["X-CMGraph-CSRF"] = "1"


async def viewer_status(client: httpx.AsyncClient, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = await client.post("/graphql", json={"query": VIEWER}, headers=headers)
    return answer.status_code


async def audit(api: Any, token: str, user: str | None = None) -> list[dict[str, Any]]:
    events = (await api.query(AUDIT, {"user": user}, token=token))["auditEvents"]
    return list(events["nodes"])


def codes(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def test_owners_change_names_and_roles_and_each_change_is_audited(
    api: Any, uow: Any, owner: Any, token_for: Any
) -> None:
    boss = await token_of(uow, "owner@example.test")
    dana_token = await token_for("dana@example.test", OrgRole.READER)
    dana = await user_id(api, dana_token)
    changed = await api.query(
        UPDATE,
        {"input": {"userId": dana, "name": " Dana Doe ", "role": "CONTRIBUTOR"}},
        token=boss,
    )
    assert changed["updateUser"] == {
        "user": {"name": "Dana Doe", "role": "CONTRIBUTOR", "disabledAt": None},
        "userErrors": [],
    }
    assert (await api.query(VIEWER, token=dana_token))["viewer"]["role"] == "CONTRIBUTOR"
    # Fields left out stay; a null role leaves grants only.
    grants_only = await api.query(UPDATE, {"input": {"userId": dana, "role": None}}, token=boss)
    assert grants_only["updateUser"]["user"] == {
        "name": "Dana Doe",
        "role": None,
        "disabledAt": None,
    }

    # Not for anyone else: a mutation says FORBIDDEN, a read is refused.
    admin = await token_for("admin@example.test", OrgRole.ADMINISTRATOR)
    refused = await api.query(UPDATE, {"input": {"userId": dana, "role": "OWNER"}}, token=admin)
    assert codes(refused["updateUser"]) == [("FORBIDDEN", None)]
    for query, variables in ((AUDIT, {}), (PERSON, {"id": dana})):
        errors = await api.errors(query, variables, token=admin)
        assert {e["extensions"]["code"] for e in errors} == {"FORBIDDEN"}

    [cleared, named] = await audit(api, boss, dana)  # newest first
    assert named["action"] == "USER_UPDATED"
    assert named["detail"] == {
        "name": {"from": "dana", "to": "Dana Doe"},
        "role": {"from": "READER", "to": "CONTRIBUTOR"},
    }
    assert named["actor"] == {"email": "owner@example.test"}
    assert named["targetUser"] == {"email": "dana@example.test"}
    assert cleared["detail"] == {"role": {"from": "CONTRIBUTOR", "to": None}}
    first_page = (await api.query(AUDIT, {"user": dana, "first": 1}, token=boss))["auditEvents"]
    assert first_page["totalCount"] == 2 and first_page["pageInfo"]["hasNextPage"]
    after = first_page["pageInfo"]["endCursor"]
    rest = await api.query(AUDIT, {"user": dana, "first": 1, "after": after}, token=boss)
    assert [e["detail"] for e in rest["auditEvents"]["nodes"]] == [named["detail"]]


async def test_the_organisation_keeps_an_active_owner(
    api: Any, uow: Any, owner: Any, token_for: Any
) -> None:
    olivia_token = await token_of(uow, "owner@example.test")
    olivia = await user_id(api, olivia_token)

    async def update(token: str, **fields: Any) -> dict[str, Any]:
        return dict((await api.query(UPDATE, {"input": fields}, token=token))["updateUser"])

    assert codes(await update(olivia_token, userId=olivia, role="ADMINISTRATOR")) == [
        ("LAST_OWNER", ["input", "role"])
    ]
    assert codes(await update(olivia_token, userId=olivia, disabled=True)) == [
        ("CANNOT_DISABLE_SELF", ["input", "disabled"])
    ]
    bob_token = await token_for("bob@example.test", OrgRole.OWNER)
    bob = await user_id(api, bob_token)
    assert codes(await update(olivia_token, userId=bob, disabled=True)) == []
    # A disabled owner does not count: Olivia is still the last active one.
    assert codes(await update(olivia_token, userId=olivia, role=None)) == [
        ("LAST_OWNER", ["input", "role"])
    ]
    assert codes(await update(olivia_token, userId=bob, disabled=False)) == []
    assert codes(await update(olivia_token, userId=olivia, role="READER")) == []
    assert codes(await update(bob_token, userId=bob, role="ADMINISTRATOR")) == [
        ("LAST_OWNER", ["input", "role"])
    ]
    assert codes(await update(bob_token, userId=bob, disabled=True)) == [
        ("CANNOT_DISABLE_SELF", ["input", "disabled"])
    ]


async def test_a_disabled_person_is_locked_out_at_once(
    api: Any, db: Database, settings: Settings, uow: Any, owner: Any
) -> None:
    boss = await token_of(uow, "owner@example.test")
    ann = await with_password(uow, "ann@example.test", OrgRole.CONTRIBUTOR)
    ann_token = await token_of(uow, "ann@example.test")
    async with browser(db, settings) as ann_browser, browser(db, settings) as anyone:
        await signed_in(ann_browser, "ann@example.test")
        assert await viewer_status(ann_browser) == 200
        assert await viewer_status(anyone, ann_token) == 200

        disabled = await api.query(UPDATE, {"input": {"userId": ann, "disabled": True}}, token=boss)
        assert disabled["updateUser"]["userErrors"] == []
        assert disabled["updateUser"]["user"]["disabledAt"] is not None

        answer = await anyone.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {ann_token}"}
        )
        assert answer.status_code == 401
        assert answer.json()["errors"][0]["message"] == "This account is disabled."
        assert await viewer_status(ann_browser) == 401
        login = await anyone.post(
            "/auth/login", json={"email": "ann@example.test", "password": PASSWORD}
        )
        assert login.status_code == 401  # the same answer as a wrong password
        async with db.sessions() as session:
            mails_before = await session.scalar(select(func.count(Notification.id)))
        forgot = await anyone.post("/auth/forgot-password", json={"email": "ann@example.test"})
        assert forgot.status_code == 202
        async with db.sessions() as session:
            assert await session.scalar(select(func.count(Notification.id))) == mails_before

        person = (await api.query(PERSON, {"id": ann, "ended": True}, token=boss))["node"]
        assert [s["active"] for s in person["sessions"]] == [False]
        assert (await api.query(PERSON, {"id": ann}, token=boss))["node"]["sessions"] == []
        people = await api.query("{ people { nodes { email } } }", token=boss)
        assert "ann@example.test" not in [p["email"] for p in people["people"]["nodes"]]

        enabled = await api.query(UPDATE, {"input": {"userId": ann, "disabled": False}}, token=boss)
        assert enabled["updateUser"]["user"]["disabledAt"] is None
        assert await viewer_status(anyone, ann_token) == 200  # tokens come back
        assert await viewer_status(ann_browser) == 401  # sessions ended for good

    [enabled_event, disabled_event] = await audit(api, boss, ann)
    assert enabled_event["action"] == "USER_ENABLED"
    assert disabled_event["action"] == "USER_DISABLED"
    assert disabled_event["detail"] == {"sessionsEnded": 1}


def token_in(message: Any) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    [url] = re.findall(rf"{re.escape(PUBLIC_URL + SET_PASSWORD_PATH)}\?token=\S+", text)
    return parse_qs(urlsplit(url).query)["token"][0]


async def test_a_disabled_persons_invitation_link_is_refused(
    api: Any, db: Database, settings: Settings, uow: Any, owner: Any
) -> None:
    boss = await token_of(uow, "owner@example.test")
    invited = await api.query(
        "mutation($i: InviteUserInput!) { inviteUser(input: $i) { user { id } userErrors { code } } }",
        {"i": {"email": "nina@example.test"}},
        token=boss,
    )
    nina = invited["inviteUser"]["user"]["id"]
    await send_due(db.sessions, make_transport(settings), settings, now=utcnow() + timedelta(1))
    await api.query(UPDATE, {"input": {"userId": nina, "disabled": True}}, token=boss)
    [mail] = [
        message_from_bytes(f.read_bytes(), policy=default_policy)
        for f in settings.mail_dir.iterdir()
    ]
    async with browser(db, settings) as nina_browser:
        chosen = await nina_browser.post(
            "/auth/password", json={"token": token_in(mail), "password": PASSWORD}
        )
    assert chosen.status_code == 400
    assert chosen.json()["errors"][0]["extensions"] == {"code": "INVALID", "field": "token"}
    actions = [e["action"] for e in await audit(api, boss, nina)]
    assert actions == ["USER_DISABLED", "USER_INVITED"]


async def test_a_disabled_persons_websocket_is_refused_at_its_next_operation(
    db: Database, settings: Settings, uow: Any, owner: Any
) -> None:
    boss = await token_of(uow, "owner@example.test")
    async with uow() as u:
        user = await accounts.create_user(u, "ann@example.test", "Ann", OrgRole.READER)
        ann = to_base64("User", user.id)
        ann_token = (await accounts.create_token(u, user, "ws")).secret
    subscription = "subscription { scoreChanged { delta } }"
    application = create_app(settings, db.engine)
    async with uvicorn_server(application) as url:
        async with WsClient.signed_in(url, ann_token) as ws:
            await ws.subscribe(subscription)
            await subscribed(hub_of(application), 1)
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                answer = await http.post(
                    "/graphql",
                    json={
                        "query": UPDATE,
                        "variables": {"input": {"userId": ann, "disabled": True}},
                    },
                    headers={"Authorization": f"Bearer {boss}"},
                )
                assert answer.json()["data"]["updateUser"]["userErrors"] == []
            # The running subscription ends with its socket, without any further message
            # (well before the once-a-minute check).
            code, reason = await ws.closed(within=10)
            assert code == 4403 and "disabled" in (reason or "")
            await subscribed(hub_of(application), 0)
        async with WsClient.connect(url, {"Authorization": f"Bearer {ann_token}"}) as refused:
            code, _ = await refused.closed()
            assert code == 4403


async def test_revoking_a_token_or_ending_sessions_closes_their_open_websockets(
    db: Database, uow: Any, owner: Any
) -> None:
    boss = await token_of(uow, "owner@example.test")
    ann = await with_password(uow, "ann@example.test", OrgRole.READER)
    async with uow() as u:
        user = await accounts.user_by_email(u, "ann@example.test")
        issued = await accounts.create_token(u, user, "ws")
    token_id = to_base64("ApiToken", issued.token.id)
    subscription = "subscription { scoreChanged { delta } }"
    application = create_app(Settings.from_env({}, background_work=False), db.engine)
    async with (
        uvicorn_server(application) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        owner_headers = {"Authorization": f"Bearer {boss}"}
        signed_in_browser = await http.post(
            "/auth/login", json={"email": "ann@example.test", "password": PASSWORD}
        )
        assert signed_in_browser.status_code == 200
        cookie = f"cmgraph_session={signed_in_browser.cookies['cmgraph_session']}"
        async with (
            WsClient.signed_in(url, issued.secret) as by_token,
            WsClient.connect(
                url, {}, additional_headers={"Cookie": cookie}, origin=url
            ) as by_cookie,
        ):
            assert (await by_cookie.receive())["type"] == "connection_ack"
            await by_token.subscribe(subscription)
            await by_cookie.subscribe(subscription)
            await subscribed(hub_of(application), 2)

            answer = await http.post(
                "/graphql",
                json={"query": REVOKE_TOKEN, "variables": {"input": {"tokenId": token_id}}},
                headers=owner_headers,
            )
            assert answer.json()["data"]["revokeApiToken"]["userErrors"] == []
            code, reason = await by_token.closed(within=10)
            assert code == 4403 and "revoked" in (reason or "")
            await subscribed(hub_of(application), 1)  # the cookie's goes on

            answer = await http.post(
                "/graphql",
                json={"query": END_SESSIONS, "variables": {"input": {"userId": ann}}},
                headers=owner_headers,
            )
            assert answer.json()["data"]["endSessions"]["endedCount"] == 1
            code, reason = await by_cookie.closed(within=10)
            assert code == 4403 and "session has ended" in (reason or "")
            await subscribed(hub_of(application), 0)


async def test_owners_grant_and_revoke_scoped_access(
    api: Any, uow: Any, owner: Any, token_for: Any
) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
    boss = await token_of(uow, "owner@example.test")
    eve_token = await token_for("eve@example.test", None)
    eve = await user_id(api, eve_token)
    a1 = to_base64("Assessment", example.a1.id)
    visible = "{ assessments { nodes { name } } }"
    assert (await api.query(visible, token=eve_token))["assessments"]["nodes"] == []

    granted = await api.query(
        GRANT, {"input": {"userId": eve, "role": "READER", "assessmentId": a1}}, token=boss
    )
    grant = granted["grantAccess"]["grant"]
    assert grant["role"] == "READER" and grant["assessment"] == {"name": "A1"}
    assert granted["grantAccess"]["user"] == {"email": "eve@example.test"}
    assert (await api.query(visible, token=eve_token))["assessments"]["nodes"] == [{"name": "A1"}]
    # The same scope again takes the new role; it stays one grant.
    again = await api.query(
        GRANT, {"input": {"userId": eve, "role": "ASSESSOR", "assessmentId": a1}}, token=boss
    )
    assert again["grantAccess"]["grant"]["id"] == grant["id"]
    person = (await api.query(PERSON, {"id": eve}, token=boss))["node"]
    assert person["grants"] == [
        {"id": grant["id"], "role": "ASSESSOR", "assessment": {"name": "A1"}, "regulation": None}
    ]
    viewer = await api.query("{ viewer { grants { id role } } }", token=eve_token)
    assert viewer["viewer"]["grants"] == [{"id": grant["id"], "role": "ASSESSOR"}]

    for fields, code in (
        ({"role": "OWNER", "assessmentId": a1}, "INVALID"),
        ({"role": "READER"}, "INVALID"),
    ):
        refused = await api.query(GRANT, {"input": {"userId": eve, **fields}}, token=boss)
        assert [e["code"] for e in refused["grantAccess"]["userErrors"]] == [code]
    contributor = await token_for("carl@example.test", OrgRole.CONTRIBUTOR)
    for document, variables in (
        (GRANT, {"userId": eve, "role": "READER", "assessmentId": a1}),
        (REVOKE_GRANT, {"grantId": grant["id"]}),
    ):
        refused = await api.query(document, {"input": variables}, token=contributor)
        assert [e["code"] for e in next(iter(refused.values()))["userErrors"]] == ["FORBIDDEN"]

    revoked = await api.query(REVOKE_GRANT, {"input": {"grantId": grant["id"]}}, token=boss)
    assert revoked["revokeGrant"] == {"user": {"email": "eve@example.test"}, "userErrors": []}
    assert (await api.query(visible, token=eve_token))["assessments"]["nodes"] == []
    gone = await api.query(REVOKE_GRANT, {"input": {"grantId": grant["id"]}}, token=boss)
    assert codes(gone["revokeGrant"]) == [("NOT_FOUND", ["input", "grantId"])]

    events = await audit(api, boss, eve)
    assert [e["action"] for e in events] == ["GRANT_REVOKED", "ACCESS_GRANTED", "ACCESS_GRANTED"]
    assert events[1]["detail"]["previousRole"] == "READER"
    assert events[0]["detail"]["assessmentId"] == example.a1.id


async def test_owners_make_and_revoke_api_tokens(
    api: Any, uow: Any, owner: Any, token_for: Any
) -> None:
    boss = await token_of(uow, "owner@example.test")
    async with uow() as u:
        robot = await accounts.create_user(
            u, "robot@example.test", "Robot", None, is_automation=True
        )
    robot_id = to_base64("User", robot.id)
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    made = await api.query(
        CREATE_TOKEN,
        {"input": {"userId": robot_id, "name": "scanner", "expiresAt": expires}},
        token=boss,
    )
    payload = made["createApiToken"]
    secret, token = payload["secret"], payload["token"]
    assert secret.startswith(token["prefix"]) and token["active"] and token["expiresAt"]
    assert (await api.query(VIEWER, token=secret))["viewer"]["user"][
        "email"
    ] == "robot@example.test"
    listed = (await api.query(PERSON, {"id": robot_id}, token=boss))["node"]["apiTokens"]
    assert listed == [
        {"id": token["id"], "name": "scanner", "prefix": token["prefix"], "active": True}
    ]

    for expiry in ("2001-01-01T00:00:00+00:00", "2099-01-01T00:00:00"):
        refused = await api.query(
            CREATE_TOKEN,
            {"input": {"userId": robot_id, "name": "x", "expiresAt": expiry}},
            token=boss,
        )
        assert codes(refused["createApiToken"]) == [("INVALID", ["input", "expiresAt"])]
        assert refused["createApiToken"]["secret"] is None
    admin = await token_for("admin@example.test", OrgRole.ADMINISTRATOR)
    refused = await api.query(
        CREATE_TOKEN, {"input": {"userId": robot_id, "name": "x"}}, token=admin
    )
    assert codes(refused["createApiToken"]) == [("FORBIDDEN", None)]
    # A token acts as its person: an owner makes one for themself, not for another person.
    admin_id = await user_id(api, admin)
    refused = await api.query(
        CREATE_TOKEN, {"input": {"userId": admin_id, "name": "x"}}, token=boss
    )
    assert codes(refused["createApiToken"]) == [("FORBIDDEN", ["input", "userId"])]
    assert "automation accounts" in refused["createApiToken"]["userErrors"][0]["message"]
    own = await api.query(
        CREATE_TOKEN, {"input": {"userId": await user_id(api, boss), "name": "mine"}}, token=boss
    )
    assert codes(own["createApiToken"]) == [] and own["createApiToken"]["secret"]

    revoked = await api.query(REVOKE_TOKEN, {"input": {"tokenId": token["id"]}}, token=boss)
    assert revoked["revokeApiToken"]["token"]["active"] is False
    assert (await api.post(VIEWER, token=secret)).status_code == 401
    events = await audit(api, boss, robot_id)
    assert [e["action"] for e in events] == ["TOKEN_REVOKED", "TOKEN_CREATED"]
    assert events[1]["detail"]["name"] == "scanner" and events[1]["detail"]["expiresAt"]

    # A disabled person's tokens show as inactive, and active again once enabled.
    second = await api.query(CREATE_TOKEN, {"input": {"userId": robot_id, "name": "b"}}, token=boss)
    second_id = second["createApiToken"]["token"]["id"]

    async def second_active() -> bool:
        listed = (await api.query(PERSON, {"id": robot_id}, token=boss))["node"]["apiTokens"]
        return bool(next(t["active"] for t in listed if t["id"] == second_id))

    assert await second_active()
    for disabled in (True, False):
        changed = await api.query(
            UPDATE, {"input": {"userId": robot_id, "disabled": disabled}}, token=boss
        )
        assert changed["updateUser"]["userErrors"] == []
        assert await second_active() is not disabled


async def test_owners_see_and_end_a_persons_sessions(
    api: Any, db: Database, settings: Settings, uow: Any, owner: Any
) -> None:
    boss = await token_of(uow, "owner@example.test")
    ann = await with_password(uow, "ann@example.test", OrgRole.READER)
    async with browser(db, settings) as laptop, browser(db, settings) as phone:
        await signed_in(laptop, "ann@example.test")
        await signed_in(phone, "ann@example.test")
        sessions = (await api.query(PERSON, {"id": ann}, token=boss))["node"]["sessions"]
        assert [s["active"] for s in sessions] == [True, True]
        laptop_session = sessions[1]  # newest first

        ended = await api.query(
            END_SESSION, {"input": {"sessionId": laptop_session["id"]}}, token=boss
        )
        assert ended["endSession"]["session"]["active"] is False
        assert await viewer_status(laptop) == 401
        assert await viewer_status(phone) == 200

        all_ended = await api.query(END_SESSIONS, {"input": {"userId": ann}}, token=boss)
        assert all_ended["endSessions"] == {
            "endedCount": 1,
            "user": {"email": "ann@example.test"},
            "userErrors": [],
        }
        assert await viewer_status(phone) == 401
    assert (await api.query(PERSON, {"id": ann}, token=boss))["node"]["sessions"] == []
    events = await audit(api, boss, ann)
    assert [(e["action"], e["detail"]) for e in events] == [
        ("SESSIONS_ENDED", {"count": 1}),
        ("SESSION_ENDED", {"sessionId": int(_row_id(laptop_session["id"]))}),
    ]


def _row_id(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":")[1]


async def test_assigning_someone_who_cannot_read_the_action(
    api: Any, uow: Any, owner: Any, token_for: Any
) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
    boss = await token_of(uow, "owner@example.test")
    outsider_token = await token_for("out@example.test", None)
    outsider = await user_id(api, outsider_token)
    t1 = to_base64("ImprovementAction", example.actions["T1"].id)  # in A1 and A3
    admin = await token_for("admin@example.test", OrgRole.ADMINISTRATOR)
    assign = {"actionIds": [t1], "assigneeId": outsider}

    refused = (await api.query(ASSIGN, {"input": assign}, token=admin))["assignImprovementActions"]
    assert codes(refused) == [("ASSIGNEE_CANNOT_READ", ["input", "assigneeId"])]
    assert "out@example.test cannot read this action" in refused["userErrors"][0]["message"]
    flagged = await api.query(ASSIGN, {"input": {**assign, "grantAccess": True}}, token=admin)
    assert codes(flagged["assignImprovementActions"]) == [("FORBIDDEN", None)]

    done = await api.query(ASSIGN, {"input": {**assign, "grantAccess": True}}, token=boss)
    assert done["assignImprovementActions"] == {
        "improvementActions": [{"assignee": {"email": "out@example.test"}}],
        "userErrors": [],
    }
    grants = (await api.query(PERSON, {"id": outsider}, token=boss))["node"]["grants"]
    assert sorted((g["role"], g["assessment"]["name"]) for g in grants) == [
        ("CONTRIBUTOR", "A1"),
        ("CONTRIBUTOR", "A3"),
    ]
    mine = await api.query(
        "query($u: [ID!]) { improvementActions(filter: {assigneeIds: $u}) { totalCount } }",
        {"u": [outsider]},
        token=outsider_token,
    )
    assert mine["improvementActions"]["totalCount"] == 1
    events = await audit(api, boss, outsider)
    assert {e["action"] for e in events} == {"ACCESS_GRANTED"}
    assert {e["detail"]["forActionId"] for e in events} == {example.actions["T1"].id}
    assert {e["actor"]["email"] for e in events} == {"owner@example.test"}


async def test_a_password_set_on_the_command_line_is_audited(
    api: Any, db: Database, uow: Any, owner: Any
) -> None:
    boss = await token_of(uow, "owner@example.test")
    ann = await with_password(uow, "ann@example.test", OrgRole.READER)
    env = {"CMGRAPH_DATABASE_URL": db.url}
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli_app,
        ["users", "set-password", "ann@example.test", "--password", "another long password"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    [event] = await audit(api, boss, ann)
    assert (event["action"], event["actor"], event["detail"]) == (
        "PASSWORD_SET",
        None,
        {"via": "CLI"},
    )


async def test_the_database_keeps_one_grant_per_person_and_scope(uow: Any, owner: Any) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
        user = await accounts.create_user(u, "gus@example.test", "Gus", None)
        regulation_id = await u.session.scalar(
            select(Template.regulation_id).where(Template.id == example.a1.template_id)
        )
    for scope in ({"assessment_id": example.a1.id}, {"regulation_id": regulation_id}):
        with pytest.raises(IntegrityError):
            async with uow() as u:
                for role in (OrgRole.READER, OrgRole.ASSESSOR):
                    u.session.add(Grant(user_id=user.id, role=role, **scope))
                    await u.session.flush()


async def test_people_added_on_the_command_line_are_audited(
    api: Any, db: Database, uow: Any, owner: Any
) -> None:
    boss = await token_of(uow, "owner@example.test")
    env = {"CMGRAPH_DATABASE_URL": db.url}
    added = await asyncio.to_thread(
        CliRunner().invoke,
        cli_app,
        ["users", "add", "cli@example.test", "--name", "Cli", "--role", "READER"],
        env=env,
    )
    assert added.exit_code == 0, added.output
    [event] = [e for e in await audit(api, boss) if e["action"] == "USER_CREATED"]
    assert (event["actor"], event["targetUser"], event["detail"]) == (
        None,
        {"email": "cli@example.test"},
        {
            "email": "cli@example.test",
            "name": "Cli",
            "role": "READER",
            "automation": False,
            "source": "CLI",
        },
    )

    # A lifetime beyond what a token may have is refused with a message, not a traceback.
    huge = await asyncio.to_thread(
        CliRunner().invoke,
        cli_app,
        ["tokens", "create", "cli@example.test", "--expires-in-days", "99999999999"],
        env=env,
    )
    assert huge.exit_code == 2 and huge.exception is not None
    assert not isinstance(huge.exception, OverflowError)
    assert "--expires-in-days" in huge.output and "3660" in huge.output


@pytest.mark.skipif(
    not POSTGRES_URL,
    reason="needs PostgreSQL (CMGRAPH_TEST_DATABASE_URL): SQLite runs one writer at a time",
)
async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    api: Any, token_for: Any
) -> None:
    ada_token = await token_for("ada@example.test", OrgRole.OWNER)
    bea_token = await token_for("bea@example.test", OrgRole.OWNER)
    ada, bea = await user_id(api, ada_token), await user_id(api, bea_token)
    answers = await asyncio.gather(
        api.query(UPDATE, {"input": {"userId": bea, "role": "READER"}}, token=ada_token),
        api.query(UPDATE, {"input": {"userId": ada, "role": "READER"}}, token=bea_token),
    )
    refused, done = sorted(str(codes(a["updateUser"])) for a in answers)
    assert done == "[]"
    # The other is refused: as the last owner when both ran at once, or as no owner any more
    # when the first demotion was committed before the second request was authenticated.
    assert refused in ("[('LAST_OWNER', ['input', 'role'])]", "[('FORBIDDEN', None)]")
    roles = [(await api.query(VIEWER, token=t))["viewer"]["role"] for t in (ada_token, bea_token)]
    assert sorted(roles) == ["OWNER", "READER"]
