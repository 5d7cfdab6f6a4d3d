"""Invitations and password resets: one-time links sent through the outbox."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select
from strawberry.relay import to_base64

from cmgraph.adapters.storage import link_key
from cmgraph.alerts.sender import send_due
from cmgraph.alerts.transports import make_transport
from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.enums import NotificationKind, NotificationStatus, OrgRole
from cmgraph.domain.errors import DomainError
from cmgraph.domain.models import Notification, User, utcnow
from cmgraph.domain.password_links import (
    RESET_EVERY,
    SET_PASSWORD_PATH,
    request_reset,
    use_link,
)
from cmgraph.domain.sign_in import set_password
from cmgraph.http.app import create_app
from tests.databases import Database

PUBLIC_URL = "https://cm.example.test"
INVITE = """mutation($input: InviteUserInput!) {
  inviteUser(input: $input) { user { email name role } userErrors { field code } } }"""
NEW_PASSWORD = "a brand new password"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {}, public_url=PUBLIC_URL, mail_dir=tmp_path / "mail", data_dir=tmp_path / "data"
    )


def client_for(db: Database, settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, db.engine)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://cm.test")


async def delivered(db: Database, settings: Settings) -> list[Any]:
    """Send what is due to the mail folder; the messages there, oldest first."""
    await send_due(db.sessions, make_transport(settings), settings, now=utcnow() + timedelta(1))
    files = sorted(settings.mail_dir.iterdir(), key=lambda f: f.stat().st_mtime_ns)
    return [message_from_bytes(f.read_bytes(), policy=default_policy) for f in files]


def token_in(message: Any) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    [url] = re.findall(rf"{re.escape(PUBLIC_URL + SET_PASSWORD_PATH)}\?token=\S+", text)
    return parse_qs(urlsplit(url).query)["token"][0]


async def test_an_invited_person_chooses_a_password_once_and_is_signed_in(
    api: Any, db: Database, settings: Settings, token_for: Any
) -> None:
    owner = await token_for("olivia@example.test", OrgRole.OWNER)
    invited = await api.query(
        INVITE,
        {"input": {"email": "Nina@Example.test", "name": "Nina", "role": "CONTRIBUTOR"}},
        token=owner,
    )
    assert invited["inviteUser"] == {
        "user": {"email": "nina@example.test", "name": "Nina", "role": "CONTRIBUTOR"},
        "userErrors": [],
    }
    [mail] = await delivered(db, settings)
    assert mail["To"] == "Nina <nina@example.test>"
    assert mail["Subject"] == "[cmgraph] You are invited to cmgraph"
    assert "olivia" in mail.get_body(preferencelist=("plain",)).get_content()
    token = token_in(mail)
    async with client_for(db, settings) as browser:
        chosen = await browser.post(
            "/auth/password", json={"token": token, "password": NEW_PASSWORD}
        )
        assert chosen.status_code == 200, chosen.text
        assert chosen.json()["user"]["email"] == "nina@example.test"
        viewer = await browser.get("/graphql", params={"query": "{ viewer { role } }"})
        assert viewer.json()["data"]["viewer"]["role"] == "CONTRIBUTOR"
        again = await browser.post("/auth/password", json={"token": token, "password": "x" * 12})
        assert again.status_code == 400
        assert again.json()["errors"][0]["extensions"] == {"code": "INVALID", "field": "token"}
        signed_in = await browser.post(
            "/auth/login", json={"email": "nina@example.test", "password": NEW_PASSWORD}
        )
        assert signed_in.status_code == 200


async def test_under_single_sign_on_only_an_invitation_links_to_the_sso_sign_in(
    api: Any, db: Database, settings: Settings, token_for: Any
) -> None:
    owner = await token_for("olivia@example.test", OrgRole.OWNER)
    await api.query(INVITE, {"input": {"email": "nina@example.test"}}, token=owner)
    sso_only = replace(
        settings,
        oidc_issuer="https://id.example.test",
        oidc_client_id="cmgraph",
        oidc_client_secret="secret",
        password_sign_in=False,
    )
    [mail] = await delivered(db, sso_only)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"{PUBLIC_URL}/auth/oidc/login" in text
    assert SET_PASSWORD_PATH not in text


async def test_mail_queued_for_someone_disabled_before_it_goes_out_is_not_sent(
    api: Any, db: Database, settings: Settings, token_for: Any
) -> None:
    owner = await token_for("olivia@example.test", OrgRole.OWNER)
    invited = await api.query(INVITE, {"input": {"email": "nina@example.test"}}, token=owner)
    assert invited["inviteUser"]["userErrors"] == []
    async with db.sessions() as session:
        nina = await session.scalar(select(User).where(User.email == "nina@example.test"))
    assert nina is not None
    disabled = await api.query(
        "mutation($input: UpdateUserInput!) { updateUser(input: $input) { userErrors { code } } }",
        {"input": {"userId": to_base64("User", nina.id), "disabled": True}},
        token=owner,
    )
    assert disabled["updateUser"]["userErrors"] == []
    transport = make_transport(settings)
    await send_due(db.sessions, transport, settings, now=utcnow() + timedelta(1))
    assert not settings.mail_dir.exists() or not any(settings.mail_dir.iterdir())
    async with db.sessions() as session:
        [row] = (await session.scalars(select(Notification))).all()
    assert row.status is NotificationStatus.DEAD and "disabled" in row.last_error


async def test_only_owners_invite_and_an_email_is_invited_once(api: Any, token_for: Any) -> None:
    admin = await token_for("admin@example.test", OrgRole.ADMINISTRATOR)
    refused = await api.query(INVITE, {"input": {"email": "x@example.test"}}, token=admin)
    assert refused["inviteUser"]["userErrors"] == [{"field": None, "code": "FORBIDDEN"}]
    owner = await token_for("olivia@example.test", OrgRole.OWNER)
    twice = await api.query(INVITE, {"input": {"email": "admin@example.test"}}, token=owner)
    assert twice["inviteUser"]["userErrors"] == [{"field": ["input", "email"], "code": "DUPLICATE"}]


async def test_a_reset_answers_the_same_for_anyone_and_mails_only_real_people(
    db: Database, settings: Settings, uow: Any
) -> None:
    async with uow() as u:
        user = await accounts.create_user(u, "ann@example.test", "Ann", OrgRole.READER)
        await set_password(u, user, "the old password")
        await accounts.create_user(u, "robot@example.test", "Robot", None, is_automation=True)
    async with client_for(db, settings) as browser:
        answers = [
            await browser.post("/auth/forgot-password", json={"email": email})
            for email in ("ANN@example.test", "nobody@example.test", "robot@example.test")
        ]
        assert {(a.status_code, a.text) for a in answers} == {(202, answers[0].text)}
        again = await browser.post("/auth/forgot-password", json={"email": "ann@example.test"})
        assert again.status_code == 202  # within RESET_EVERY: no second email
        [mail] = await delivered(db, settings)
        assert mail["To"] == "Ann <ann@example.test>"
        assert mail["Subject"] == "[cmgraph] Reset your password"
        signed_in = await browser.post(
            "/auth/login", json={"email": "ann@example.test", "password": "the old password"}
        )
        assert signed_in.status_code == 200
        reset = await browser.post(
            "/auth/password", json={"token": token_in(mail), "password": NEW_PASSWORD}
        )
        assert reset.status_code == 200
    async with client_for(db, settings) as old_browser:
        old_browser.cookies.set("cmgraph_session", signed_in.cookies["cmgraph_session"])
        ended = await old_browser.get("/graphql", params={"query": "{ viewer { role } }"})
    assert ended.status_code == 401  # a new password ends the sessions of the old one


async def test_links_expire_and_cannot_be_forged(
    db: Database, settings: Settings, uow: Any
) -> None:
    async with uow() as u:
        await accounts.create_user(u, "ann@example.test", "Ann", OrgRole.READER)
    start = utcnow()
    async with uow() as u:
        await request_reset(u, "ann@example.test", now=start)
    async with uow() as u:  # asked again later: a second link
        await request_reset(u, "ann@example.test", now=start + RESET_EVERY)
    async with db.sessions() as session:
        kinds = list(await session.scalars(select(Notification.kind)))
    assert kinds == [NotificationKind.PASSWORD_RESET] * 2
    [first, _] = await delivered(db, settings)
    token, key = token_in(first), link_key(settings)
    for bad_token, moment in (
        (token, start + timedelta(hours=1)),  # a reset link lives an hour
        (token[:-2] + "AA", start),
        ("", start),
    ):
        with pytest.raises(DomainError, match="not valid"):
            async with uow() as u:
                await use_link(u, key, bad_token, NEW_PASSWORD, now=moment)
    with pytest.raises(DomainError, match="at least 12"):
        async with uow() as u:
            await use_link(u, key, token, "short", now=start)
    async with uow() as u:  # still unused after the refusals
        used = await use_link(u, key, token, NEW_PASSWORD, now=start)
    assert used.user.email == "ann@example.test"


async def test_a_reset_link_lifts_the_limit_on_wrong_guesses(
    db: Database, settings: Settings, uow: Any
) -> None:
    async with uow() as u:
        await accounts.create_user(u, "ann@example.test", "Ann", OrgRole.READER)
    async with client_for(db, settings) as browser:
        for _ in range(settings.sign_in_max_failures):
            guess = {"email": "ann@example.test", "password": "a wrong guess"}
            assert (await browser.post("/auth/login", json=guess)).status_code == 401
        await browser.post("/auth/forgot-password", json={"email": "ann@example.test"})
        [mail] = await delivered(db, settings)
        reset = await browser.post(
            "/auth/password", json={"token": token_in(mail), "password": NEW_PASSWORD}
        )
    assert reset.status_code == 200, reset.text
