"""Mail delivery against a real SMTP server: what arrives, once, and how it reads.

Notification rows are written here as the alert evaluator writes them (one per recipient),
over real alerts and events built through the domain services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from sqlalchemy import select
from strawberry.relay import to_base64

from cmgraph.alerts.messages import new_message_id
from cmgraph.alerts.sender import send_due
from cmgraph.alerts.transports import (
    FileTransport,
    SmtpTransport,
    TlsMode,
    make_transport,
    parse_smtp_url,
)
from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.assignment import assign_actions
from cmgraph.domain.enums import (
    EventType,
    NotificationKind,
    NotificationStatus,
    OrgRole,
    Severity,
)
from cmgraph.domain.models import (
    Alert,
    AlertMatch,
    AlertPolicy,
    Event,
    ImprovementAction,
    Notification,
    User,
)
from cmgraph.domain.permissions import Principal
from tests.builders import worked_example

if TYPE_CHECKING:
    from tests.smtp_server import SmtpTestServer

pytest_plugins = ["tests.smtp_server"]

PUBLIC_URL = "https://compliance.example.test/cm"
POLICY_NAME = "Score watch <critical> & more"


def mail_settings(tmp_path: Path, smtp_url: str = "", **overrides: object) -> Settings:
    values: dict[str, object] = {
        "smtp_url": smtp_url,
        "smtp_allow_plain": True,
        "public_url": PUBLIC_URL,
        "mail_from": "cmgraph <alerts@example.test>",
        "mail_dir": tmp_path / "mail",
    }
    return Settings.from_env({}, **{**values, **overrides})


def start_of_test() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class AlertWorld:
    alert: Alert
    events: list[Event]
    actions: dict[str, ImprovementAction]
    recipients: list[User]


async def make_alert_world(
    uow, owner: Principal, now: datetime, *, recipients: int = 3
) -> AlertWorld:  # type: ignore[no-untyped-def]
    """Score and status changes from the worked example, joined into one HIGH alert."""
    async with uow() as u:
        example = await worked_example(u, owner)
        events = list(
            await u.session.scalars(
                select(Event)
                .where(Event.type.in_([EventType.SCORE_CHANGE, EventType.TEST_STATUS_CHANGE]))
                .order_by(Event.id)
            )
        )
        policy = AlertPolicy(
            name=POLICY_NAME,
            description="Tell us when points move.",
            conditions=[{"type": "SCORE_CHANGE"}, {"type": "TEST_STATUS_CHANGE"}],
            severity=Severity.HIGH,
        )
        u.session.add(policy)
        await u.session.flush()
        alert = Alert(
            policy_id=policy.id,
            policy_snapshot={"name": policy.name, "description": policy.description},
            severity=Severity.HIGH,
            detected_at=now,
            window_ends_at=now + timedelta(seconds=60),
        )
        u.session.add(alert)
        await u.session.flush()
        u.session.add_all(
            AlertMatch(policy_id=policy.id, event_id=e.id, alert_id=alert.id) for e in events
        )
        users = [
            await accounts.create_user(
                u, f"person{i}@example.test", f"Person {i}", OrgRole.ADMINISTRATOR
            )
            for i in range(recipients)
        ]
    return AlertWorld(alert, events, example.actions, users)


async def queue(
    uow,
    settings: Settings,
    kind: NotificationKind,
    subject_id: int,
    users: list[User],
    now: datetime,
) -> list[Notification]:  # type: ignore[no-untyped-def]
    """Notification rows as the evaluator writes them: one per recipient, due now."""
    async with uow() as u:
        rows = [
            Notification(
                kind=kind,
                subject_id=subject_id,
                recipient_id=user.id,
                recipient_email=user.email,
                message_id=new_message_id(settings),
                created_at=now,
                next_attempt_at=now,
            )
            for user in users
        ]
        u.session.add_all(rows)
    return rows


async def rows_by_id(db, ids: list[int]) -> dict[int, Notification]:  # type: ignore[no-untyped-def]
    async with db.sessions() as session:
        found = await session.scalars(select(Notification).where(Notification.id.in_(ids)))
        return {row.id: row for row in found}


def smtp(server: SmtpTestServer) -> SmtpTransport:
    return SmtpTransport(parse_smtp_url(server.plain_url, allow_plain=True))


def parts(message) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


async def test_alert_mail_arrives_once_per_recipient_with_headers_and_links(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    world = await make_alert_world(uow, owner, now)
    rows = await queue(uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now)

    assert await send_due(db.sessions, smtp(smtp_server), settings, now=now) == 3
    assert await send_due(db.sessions, smtp(smtp_server), settings, now=now) == 0

    received = smtp_server.received
    assert sorted(r.message_id for r in received) == sorted(row.message_id for row in rows)
    by_id = {r.message_id: r for r in received}
    alert_link = f"{PUBLIC_URL}/alerts/{quote(to_base64('Alert', world.alert.id), safe='')}"
    t1_link = f"{PUBLIC_URL}/actions/{quote(to_base64('ImprovementAction', world.actions['T1'].id), safe='')}"
    for row, user in zip(rows, world.recipients, strict=True):
        got = by_id[row.message_id]
        assert got.recipients == [user.email]
        assert got.mail_from == "alerts@example.test"
        message = got.message
        assert message["Subject"] == f"[cmgraph] HIGH alert: {POLICY_NAME}"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["To"].addresses[0].addr_spec == user.email
        assert message["To"].addresses[0].display_name == user.name
        assert message["From"].addresses[0].addr_spec == "alerts@example.test"
        assert message["Date"].datetime == now
        assert message.get_content_type() == "multipart/alternative"
        bodies = parts(message)
        assert set(bodies) == {"text/plain", "text/html"}
        text, markup = bodies["text/plain"], bodies["text/html"]
        for body in (text, markup):
            assert alert_link in body
            assert t1_link in body
            assert f"{PUBLIC_URL}/graphql" in body
            assert "SCORE_CHANGE" in body
            assert "TEST_STATUS_CHANGE" in body
            assert "points +27" in body  # T1 passed: 0 -> 27 points
            assert "by Olivia Owner" in body
            assert "Detected" in body
        assert f"Hello {user.name}," in text
        assert POLICY_NAME in text
        # Everything from the data is escaped in HTML.
        assert "<critical>" not in markup
        assert "Score watch &lt;critical&gt; &amp; more" in markup

    stored = await rows_by_id(db, [row.id for row in rows])
    for row in stored.values():
        assert row.status is NotificationStatus.SENT
        assert row.attempts == 1
        assert row.sent_at is not None and row.sent_at >= now
        assert row.claimed_until is None


async def test_assignment_mail_names_action_assigner_and_notes(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    async with uow() as u:
        example = await worked_example(u, owner)
        assignee = await accounts.create_user(
            u, "casey@example.test", "Casey Contributor", OrgRole.CONTRIBUTOR
        )
    t2 = example.actions["T2"]
    async with uow() as u:
        await assign_actions(
            u, owner, [t2.id], assignee.id, notes="Please look <script>alert(1)</script>\nsoon"
        )
    async with db.sessions() as session:
        event = await session.scalar(
            select(Event).where(Event.type == EventType.ASSIGNMENT_CHANGE).order_by(Event.id)
        )
    [row] = await queue(uow, settings, NotificationKind.ASSIGNMENT, event.id, [assignee], now)

    assert await send_due(db.sessions, smtp(smtp_server), settings, now=now) == 1

    [got] = smtp_server.received
    message = got.message
    assert got.recipients == ["casey@example.test"]
    assert message["Subject"] == "[cmgraph] Assigned to you: T2"
    assert message["Message-ID"] == row.message_id
    assert message["Auto-Submitted"] == "auto-generated"
    bodies = parts(message)
    action_link = f"{PUBLIC_URL}/actions/{quote(to_base64('ImprovementAction', t2.id), safe='')}"
    text, markup = bodies["text/plain"], bodies["text/html"]
    assert action_link in text and action_link in markup
    assert "Olivia Owner" in text and "Olivia Owner" in markup
    assert "Please look <script>alert(1)</script>" in text
    assert "<script>" not in markup
    assert "Please look &lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "A2" in text  # the assessment T2 belongs to


async def test_file_transport_writes_one_parseable_eml_per_message(
    db, uow, owner, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path)
    transport = make_transport(settings)
    assert isinstance(transport, FileTransport)
    world = await make_alert_world(uow, owner, now, recipients=2)
    rows = await queue(uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now)

    assert await send_due(db.sessions, transport, settings, now=now) == 2

    files = sorted(settings.mail_dir.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]  # no temporary files left
    parsed = [message_from_bytes(f.read_bytes(), policy=default_policy) for f in files]
    assert sorted(m["Message-ID"] for m in parsed) == sorted(r.message_id for r in rows)
    for message in parsed:
        assert message.get_content_type() == "multipart/alternative"
        assert {p.get_content_type() for p in message.iter_parts()} == {"text/plain", "text/html"}
        assert message["Subject"] == f"[cmgraph] HIGH alert: {POLICY_NAME}"

    # A retry of the same message (same Message-ID) finds its file and writes nothing.
    await transport.send(parsed[0], ["person0@example.test"])  # type: ignore[arg-type]
    assert sorted(settings.mail_dir.iterdir()) == files


async def test_starttls_and_login_before_anything_is_sent(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    smtp_server.stop()
    smtp_server.starttls = True
    smtp_server.credentials = ("mailer", "s3cret:@/")
    smtp_server.start()
    now = start_of_test()
    url = f"smtp://mailer:{quote('s3cret:@/', safe='')}@127.0.0.1:{smtp_server.port}?timeout=5"
    settings = mail_settings(tmp_path, url, smtp_allow_plain=False)
    config = parse_smtp_url(url)
    assert config.tls is TlsMode.STARTTLS
    transport = SmtpTransport(config, tls_context=smtp_server.client_context())
    world = await make_alert_world(uow, owner, now, recipients=1)
    await queue(uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now)

    assert await send_due(db.sessions, transport, settings, now=now) == 1

    [got] = smtp_server.received
    assert got.over_tls
    assert smtp_server.logins == ["mailer"]


def test_smtp_url_forms() -> None:
    starttls = parse_smtp_url("smtp://u%40x:p%3Aw@mail.example.test")
    assert (starttls.host, starttls.port, starttls.tls) == (
        "mail.example.test",
        587,
        TlsMode.STARTTLS,
    )
    assert (starttls.username, starttls.password) == ("u@x", "p:w")
    implicit = parse_smtp_url("smtps://mail.example.test")
    assert (implicit.port, implicit.tls) == (465, TlsMode.IMPLICIT)
    assert parse_smtp_url("smtp://relay:25?tls=starttls", allow_plain=True).tls is TlsMode.STARTTLS
    assert parse_smtp_url("smtp://relay:25", allow_plain=True).tls is TlsMode.OPPORTUNISTIC
    assert parse_smtp_url("smtp://relay:25?tls=none", allow_plain=True).tls is TlsMode.NONE
    assert parse_smtp_url("smtp://relay?timeout=2.5").timeout == 2.5
    with pytest.raises(ValueError, match="CMGRAPH_SMTP_ALLOW_PLAIN"):
        parse_smtp_url("smtp://relay:25?tls=none")
    with pytest.raises(ValueError, match="CMGRAPH_SMTP_ALLOW_PLAIN"):
        make_transport(Settings(smtp_url="smtp://relay:25?tls=none"))
    for bad in ("http://relay", "smtp://", "smtp://relay?tls=maybe", "smtp://relay?x=1"):
        with pytest.raises(ValueError):
            parse_smtp_url(bad, allow_plain=True)
    assert isinstance(make_transport(Settings(smtp_url="smtps://relay")), SmtpTransport)


async def test_implicit_tls(db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path) -> None:
    smtp_server.stop()
    smtp_server.implicit_tls = True
    smtp_server.start()
    now = start_of_test()
    url = f"smtps://127.0.0.1:{smtp_server.port}?timeout=5"
    settings = mail_settings(tmp_path, url)
    transport = SmtpTransport(parse_smtp_url(url), tls_context=smtp_server.client_context())
    world = await make_alert_world(uow, owner, now, recipients=1)
    await queue(uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now)

    assert await send_due(db.sessions, transport, settings, now=now) == 1
    [got] = smtp_server.received
    assert got.over_tls


async def test_evaluator_rows_are_delivered_end_to_end(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    """What the evaluator queues (default policy alert, assignment) arrives, once each."""
    from cmgraph.alerts.evaluator import evaluate_pending

    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    async with uow() as u:
        example = await worked_example(u, owner)
        assignee = await accounts.create_user(
            u, "casey@example.test", "Casey Contributor", OrgRole.CONTRIBUTOR
        )
    async with uow() as u:
        await assign_actions(u, owner, [example.actions["T2"].id], assignee.id, notes="Soon")
    await evaluate_pending(db.sessions, now=now)
    async with db.sessions() as session:
        rows = list(await session.scalars(select(Notification).order_by(Notification.id)))
    kinds = {row.kind for row in rows}
    assert kinds == {NotificationKind.ALERT, NotificationKind.ASSIGNMENT}

    while await send_due(db.sessions, smtp(smtp_server), settings, now=now):
        pass

    received = {r.message_id: r for r in smtp_server.received}
    assert len(smtp_server.received) == len(rows)
    for row in rows:
        got = received[row.message_id]
        assert got.recipients == [row.recipient_email]
        prefix = "[cmgraph] Assigned to you: " if row.kind is NotificationKind.ASSIGNMENT else ""
        assert got.message["Subject"].startswith(prefix or "[cmgraph] MEDIUM alert: ")
    stored = await rows_by_id(db, [row.id for row in rows])
    assert {row.status for row in stored.values()} == {NotificationStatus.SENT}


async def test_a_rolled_back_change_sends_nothing(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    """The assignment and the score change were undone: no notification, no mail."""
    from cmgraph.alerts.evaluator import evaluate_pending
    from cmgraph.domain.enums import ImplementationStatus
    from cmgraph.domain.workflow import change_action

    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    async with uow() as u:
        example = await worked_example(u, owner)
        assignee = await accounts.create_user(u, "dana@example.test", "Dana", OrgRole.CONTRIBUTOR)
    await evaluate_pending(db.sessions, now=now)  # the worked example's own events
    while await send_due(db.sessions, smtp(smtp_server), settings, now=now):
        pass
    sent_before = len(smtp_server.received)
    with pytest.raises(RuntimeError):
        async with uow() as u:
            await assign_actions(u, owner, [example.actions["T2"].id], assignee.id)
            await change_action(
                u,
                owner,
                example.actions["T2"].id,
                {"implementation_status": ImplementationStatus.OUT_OF_SCOPE},
            )
            raise RuntimeError("the request failed after the changes")
    assert await evaluate_pending(db.sessions, now=now) == 0
    assert await send_due(db.sessions, smtp(smtp_server), settings, now=now) == 0
    async with db.sessions() as session:
        to_dana = await session.scalars(
            select(Notification).where(Notification.recipient_email == "dana@example.test")
        )
        assert list(to_dana) == []
    assert len(smtp_server.received) == sent_before
