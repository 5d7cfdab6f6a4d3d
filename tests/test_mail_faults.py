"""Mail delivery when things go wrong: servers down, deferrals, refusals, crashes, races."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from strawberry.relay import to_base64

from cmgraph.alerts import sender
from cmgraph.alerts.outbox import queue_summary, requeue_dead
from cmgraph.alerts.sender import LEASE_SECONDS, claim_due, next_due_at, send_due
from cmgraph.alerts.transports import (
    PermanentFailure,
    SmtpTransport,
    TemporaryFailure,
    parse_smtp_url,
)
from cmgraph.domain.enums import NotificationKind, NotificationStatus, OrgRole
from cmgraph.domain.errors import DomainError
from cmgraph.domain.models import Notification
from cmgraph.domain.permissions import Principal
from tests.test_mail_delivery import (
    mail_settings,
    make_alert_world,
    queue,
    rows_by_id,
    smtp,
    start_of_test,
)

if TYPE_CHECKING:
    from tests.smtp_server import SmtpTestServer

pytest_plugins = ["tests.smtp_server"]


def steady() -> float:
    """No jitter, so the backoff schedule can be checked exactly."""
    return 1.0


async def one(db, row_id: int) -> Notification:  # type: ignore[no-untyped-def]
    return (await rows_by_id(db, [row_id]))[row_id]


async def test_server_down_then_up_delivers_after_recovery(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    world = await make_alert_world(uow, owner, now, recipients=2)
    rows = await queue(uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now)
    smtp_server.stop()

    started = time.monotonic()
    assert await send_due(db.sessions, smtp(smtp_server), settings, now=now) == 2
    spent = time.monotonic() - started
    for row in rows:
        failed = await one(db, row.id)
        assert failed.status is NotificationStatus.PENDING
        assert failed.attempts == 1
        assert failed.claimed_until is None
        assert "cannot deliver through 127.0.0.1" in failed.last_error
        # First retry after 30 s, jittered by 0.5 to 1.5, counted from the failure.
        delay = (failed.next_attempt_at - now).total_seconds()
        assert 15 <= delay <= 45 + spent

    smtp_server.start()
    # Not due yet: nothing is tried.
    assert (
        await send_due(db.sessions, smtp(smtp_server), settings, now=now + timedelta(seconds=5))
        == 0
    )
    later = now + timedelta(seconds=60)
    assert await next_due_at(db.sessions) <= later
    assert await send_due(db.sessions, smtp(smtp_server), settings, now=later) == 2

    assert Counter(r.message_id for r in smtp_server.received) == Counter(
        row.message_id for row in rows
    )
    for row in rows:
        sent = await one(db, row.id)
        assert (sent.status, sent.attempts) == (NotificationStatus.SENT, 2)
        assert sent.message_id == row.message_id
    assert await next_due_at(db.sessions) is None


async def test_deferrals_back_off_exponentially_then_deliver(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    world = await make_alert_world(uow, owner, now, recipients=1)
    [row] = await queue(
        uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now
    )
    smtp_server.defer_next(3)

    clock = now
    for attempt, delay in ((1, 30), (2, 60), (3, 120)):
        started = time.monotonic()
        assert (
            await send_due(db.sessions, smtp(smtp_server), settings, now=clock, jitter=steady) == 1
        )
        spent = time.monotonic() - started
        state = await one(db, row.id)
        assert state.status is NotificationStatus.PENDING
        assert state.attempts == attempt
        assert state.last_error.startswith("127.0.0.1:")
        assert "451" in state.last_error
        # The delay counts from when the refusal came back: within the call's own duration.
        gap = (state.next_attempt_at - clock).total_seconds()
        assert delay <= gap <= delay + spent
        # Just before it is due, nothing happens.
        assert (
            await send_due(
                db.sessions,
                smtp(smtp_server),
                settings,
                now=state.next_attempt_at - timedelta(seconds=1),
            )
            == 0
        )
        clock = state.next_attempt_at

    assert await send_due(db.sessions, smtp(smtp_server), settings, now=clock) == 1
    [got] = smtp_server.received
    assert got.message_id == row.message_id
    assert smtp_server.transactions == 4
    state = await one(db, row.id)
    assert (state.status, state.attempts) == (NotificationStatus.SENT, 4)


async def test_backoff_is_jittered_and_capped(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url, mail_retry_seconds=1000)
    world = await make_alert_world(uow, owner, now, recipients=1)
    [row] = await queue(
        uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now
    )
    smtp_server.defer_next(10)
    # Already at the sixth try: 1000 s * 2**5 far exceeds the one-hour cap.
    async with uow() as u:
        await u.session.execute(
            update(Notification).where(Notification.id == row.id).values(attempts=5)
        )
    started = time.monotonic()
    await send_due(db.sessions, smtp(smtp_server), settings, now=now)
    spent = time.monotonic() - started
    state = await one(db, row.id)
    assert (state.next_attempt_at - now).total_seconds() <= 3600 + spent


async def test_permanent_refusal_of_one_recipient_spares_the_others(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    world = await make_alert_world(uow, owner, now, recipients=3)
    rows = await queue(uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now)
    smtp_server.refuse(world.recipients[1].email)

    assert await send_due(db.sessions, smtp(smtp_server), settings, now=now) == 3

    delivered = {r.recipients[0] for r in smtp_server.received}
    assert delivered == {world.recipients[0].email, world.recipients[2].email}
    assert len(smtp_server.received) == 2
    dead = await one(db, rows[1].id)
    assert (dead.status, dead.attempts) == (NotificationStatus.DEAD, 1)
    assert "550" in dead.last_error and world.recipients[1].email in dead.last_error
    assert dead.claimed_until is None
    for row in (rows[0], rows[2]):
        assert (await one(db, row.id)).status is NotificationStatus.SENT

    # Never tried again, however late.
    transactions = smtp_server.transactions
    assert (
        await send_due(db.sessions, smtp(smtp_server), settings, now=now + timedelta(days=2)) == 0
    )
    assert smtp_server.transactions == transactions


async def test_partial_refusal_is_permanent_so_nobody_gets_a_second_copy(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.refuse("nobody@example.test")
    message = EmailMessage()
    message["From"] = "cmgraph@example.test"
    message["To"] = "somebody@example.test"
    message["Subject"] = "hello"
    message.set_content("hello")
    with pytest.raises(PermanentFailure, match=r"nobody@example\.test"):
        await smtp(smtp_server).send(message, ["somebody@example.test", "nobody@example.test"])
    [got] = smtp_server.received
    assert got.recipients == ["somebody@example.test"]


async def test_too_old_to_retry_is_dead(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(
        tmp_path, smtp_server.plain_url, mail_max_age_seconds=600, mail_retry_seconds=3600
    )
    world = await make_alert_world(uow, owner, now, recipients=1)
    [row] = await queue(
        uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now
    )
    smtp_server.stop()

    await send_due(db.sessions, smtp(smtp_server), settings, now=now)
    state = await one(db, row.id)
    # The retry would come after the maximum age: it is moved to the deadline instead.
    assert state.status is NotificationStatus.PENDING
    assert state.next_attempt_at == now + timedelta(seconds=600)

    assert await send_due(db.sessions, smtp(smtp_server), settings, now=state.next_attempt_at) == 1
    state = await one(db, row.id)
    assert (state.status, state.attempts) == (NotificationStatus.DEAD, 2)
    assert state.last_error.startswith("gave up after 2 attempts")
    smtp_server.start()
    assert (
        await send_due(db.sessions, smtp(smtp_server), settings, now=now + timedelta(days=1)) == 0
    )
    assert smtp_server.received == []


async def test_concurrent_senders_send_each_mail_once(
    db, databases, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    world = await make_alert_world(uow, owner, now, recipients=24)
    rows = await queue(uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now)
    # A second "process": its own engine and connection pool on the same database.
    from cmgraph.adapters.db import create_engine, session_factory

    other_engine = create_engine(db.url)

    class Slow:
        """Real SMTP, a little slower, so that the two senders' batches overlap."""

        async def send(self, message: EmailMessage, recipients: list[str]) -> None:
            await asyncio.sleep(0.02)
            await smtp(smtp_server).send(message, recipients)

    try:
        other = session_factory(other_engine)
        async with other() as warm:  # connected before the race starts
            await warm.execute(select(1))

        async def drain(sessions) -> int:  # type: ignore[no-untyped-def]
            total = 0
            while attempted := await send_due(sessions, Slow(), settings, now=now, batch=4):
                total += attempted
            return total

        first, second = await asyncio.gather(drain(db.sessions), drain(other))
        # Both at the same instant, a whole batch each, on what is left (nothing).
        assert await asyncio.gather(
            send_due(db.sessions, smtp(smtp_server), settings, now=now),
            send_due(other, smtp(smtp_server), settings, now=now),
        ) == [0, 0]
    finally:
        await other_engine.dispose()

    assert first + second == 24
    assert first > 0 and second > 0  # both really took part
    counts = Counter(r.message_id for r in smtp_server.received)
    assert counts == Counter(row.message_id for row in rows)
    assert set(counts.values()) == {1}
    assert smtp_server.transactions == 24


async def test_concurrent_claims_at_the_same_instant_are_disjoint(
    db, uow, owner, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path)
    world = await make_alert_world(uow, owner, now, recipients=30)
    await queue(uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now)
    claims = await asyncio.gather(*(claim_due(db.sessions, now, batch=7) for _ in range(5)))
    assert all(len(claim) <= 7 for claim in claims)
    ids = [row.id for claim in claims for row in claim]
    assert len(ids) == len(set(ids))
    rest = await claim_due(db.sessions, now, batch=50)
    assert not {row.id for row in rest} & set(ids)
    assert len(ids) + len(rest) == 30


async def test_crash_between_claim_and_send_retries_with_the_same_message_id(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    world = await make_alert_world(uow, owner, now, recipients=1)
    [row] = await queue(
        uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now
    )

    # A sender claims the row and dies before sending anything.
    [claimed] = await claim_due(db.sessions, now)
    assert claimed.id == row.id
    # While its lease lasts, nobody else takes the row.
    assert (
        await send_due(db.sessions, smtp(smtp_server), settings, now=now + timedelta(seconds=60))
        == 0
    )
    assert smtp_server.transactions == 0

    after_lease = now + timedelta(seconds=LEASE_SECONDS + 1)
    assert await send_due(db.sessions, smtp(smtp_server), settings, now=after_lease) == 1
    assert await send_due(db.sessions, smtp(smtp_server), settings, now=after_lease) == 0
    [got] = smtp_server.received
    assert got.message_id == row.message_id
    state = await one(db, row.id)
    assert (state.status, state.attempts, state.message_id) == (
        NotificationStatus.SENT,
        1,
        row.message_id,
    )


async def test_shutdown_after_delivery_hands_rows_back_and_resends_the_same_message_id(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    """Cancelled mid-batch, the sender releases its claims; the message in flight is sent
    again (the one duplicate the design allows, recognisable by its Message-ID)."""
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    world = await make_alert_world(uow, owner, now, recipients=3)
    rows = await queue(uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now)

    class StoppedAfterFirst:
        async def send(self, message: EmailMessage, recipients: list[str]) -> None:
            await smtp(smtp_server).send(message, recipients)
            raise asyncio.CancelledError  # the server shuts down before recording

    with pytest.raises(asyncio.CancelledError):
        await send_due(db.sessions, StoppedAfterFirst(), settings, now=now)
    # The first was started (and in fact sent): it counts; the others were never tried.
    for row, attempts in zip(rows, (1, 0, 0), strict=True):
        state = await one(db, row.id)
        assert (state.status, state.attempts, state.claimed_until) == (
            NotificationStatus.PENDING,
            attempts,
            None,
        )
    # After a restart everything is due at once, without waiting for leases to run out.
    assert await send_due(db.sessions, smtp(smtp_server), settings, now=now) == 3
    assert Counter(r.message_id for r in smtp_server.received) == Counter(
        {rows[0].message_id: 2, rows[1].message_id: 1, rows[2].message_id: 1}
    )
    assert [(await one(db, row.id)).attempts for row in rows] == [2, 1, 1]


async def test_a_send_whose_sent_mark_is_lost_counts_both_attempts(
    api, db, uow, owner, token_for, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    """The relay accepts, the "sent" mark cannot be written and the claim cannot be handed
    back: after the lease the mail goes again with the same Message-ID, and the outbox says
    it was tried twice."""
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    world = await make_alert_world(uow, owner, now, recipients=1)
    [row] = await queue(
        uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now
    )

    async def database_gone(*args: object, **kwargs: object) -> None:
        raise OperationalError("UPDATE notification", {}, Exception("connection lost"))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sender, "_record", database_gone)
        patch.setattr(sender, "_release", database_gone)
        with pytest.raises(OperationalError):
            await send_due(db.sessions, smtp(smtp_server), settings, now=now)
    assert len(smtp_server.received) == 1
    admin = await token_for("admin@example.test", OrgRole.ADMINISTRATOR)
    query = """query($id: ID!) {
      node(id: $id) { ... on Notification { status attempts } }
      mailQueue { pendingCount sentCount } }"""
    notification = to_base64("Notification", row.id)
    data = await api.query(query, {"id": notification}, token=admin)
    assert data == {
        "node": {"status": "PENDING", "attempts": 1},
        "mailQueue": {"pendingCount": 1, "sentCount": 0},
    }

    # Still leased: nobody sends it again yet.
    assert await send_due(db.sessions, smtp(smtp_server), settings, now=now) == 0
    after_lease = now + timedelta(seconds=LEASE_SECONDS + 1)
    assert await send_due(db.sessions, smtp(smtp_server), settings, now=after_lease) == 1
    assert [r.message_id for r in smtp_server.received] == [row.message_id] * 2
    data = await api.query(query, {"id": notification}, token=admin)
    assert data == {
        "node": {"status": "SENT", "attempts": 2},
        "mailQueue": {"pendingCount": 0, "sentCount": 1},
    }


async def test_starttls_required_but_not_offered_sends_nothing(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.starttls_url, smtp_allow_plain=False)
    transport = SmtpTransport(parse_smtp_url(settings.smtp_url))
    world = await make_alert_world(uow, owner, now, recipients=1)
    [row] = await queue(
        uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now
    )

    assert await send_due(db.sessions, transport, settings, now=now) == 1

    state = await one(db, row.id)
    assert state.status is NotificationStatus.PENDING  # temporary: fixable on the server side
    assert state.attempts == 1
    assert "does not offer STARTTLS" in state.last_error
    assert "nothing was sent in plain text" in state.last_error
    assert smtp_server.transactions == 0  # not even MAIL FROM
    assert smtp_server.received == []


async def test_starttls_check_raises_a_temporary_failure(smtp_server: SmtpTestServer) -> None:
    message = EmailMessage()
    message["From"] = "cmgraph@example.test"
    message.set_content("secret")
    with pytest.raises(TemporaryFailure, match="STARTTLS"):
        await SmtpTransport(parse_smtp_url(smtp_server.starttls_url)).send(
            message, ["somebody@example.test"]
        )


async def test_gone_subject_and_broken_transport(
    db, uow, owner, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path, smtp_server.plain_url)
    world = await make_alert_world(uow, owner, now, recipients=2)
    [gone] = await queue(uow, settings, NotificationKind.ALERT, 987_654, world.recipients[:1], now)
    [buggy] = await queue(
        uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients[1:], now
    )

    class Broken:
        async def send(self, message: EmailMessage, recipients: list[str]) -> None:
            raise RuntimeError("bug in a transport")

    assert await send_due(db.sessions, Broken(), settings, now=now) == 2
    state = await one(db, gone.id)
    assert state.status is NotificationStatus.DEAD
    assert state.last_error == "cannot render: alert 987654 no longer exists"
    state = await one(db, buggy.id)
    assert state.status is NotificationStatus.PENDING
    assert "bug in a transport" in state.last_error


async def dead_world(db, uow, owner, tmp_path: Path, count: int = 3) -> list[Notification]:  # type: ignore[no-untyped-def]
    now = start_of_test()
    settings = mail_settings(tmp_path)
    world = await make_alert_world(uow, owner, now, recipients=count)
    rows = await queue(uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now)
    async with uow() as u:
        await u.session.execute(
            update(Notification)
            .where(Notification.id.in_([r.id for r in rows]))
            .values(status=NotificationStatus.DEAD, attempts=7, last_error="550 no such user")
        )
    return rows


async def test_requeue_dead_restarts_the_clock(db, uow, owner, tmp_path: Path) -> None:
    rows = await dead_world(db, uow, owner, tmp_path)
    reader = Principal(user_id=owner.user_id, role=OrgRole.ASSESSOR)
    async with uow() as u:
        with pytest.raises(DomainError) as refused:
            await requeue_dead(u, reader, None)
    assert refused.value.code == "FORBIDDEN"
    async with db.sessions() as session:
        summary = await queue_summary(session, owner)
    assert (summary.pending, summary.sent, summary.dead) == (0, 0, 3)
    assert summary.oldest_pending_at is None
    assert {r.id for r in summary.recent_dead} == {r.id for r in rows}

    later = start_of_test() + timedelta(hours=30)
    async with uow() as u:
        assert await requeue_dead(u, owner, [rows[0].id], now=later) == 1
    async with uow() as u:
        assert await requeue_dead(u, owner, [rows[0].id], now=later) == 0  # not dead any more
    state = await one(db, rows[0].id)
    assert (state.status, state.attempts) == (NotificationStatus.PENDING, 0)
    assert state.created_at == state.next_attempt_at == later
    assert state.message_id == rows[0].message_id
    async with db.sessions() as session:
        summary = await queue_summary(session, owner)
    assert (summary.pending, summary.dead) == (1, 2)
    assert summary.oldest_pending_at == later
    async with uow() as u:
        assert await requeue_dead(u, owner, None, now=later) == 2
    async with db.sessions() as session:
        statuses = set(await session.scalars(select(Notification.status)))
    assert statuses == {NotificationStatus.PENDING}


MAIL_QUEUE = """query { mailQueue { pendingCount sentCount deadCount oldestPendingCreatedAt
  recentDead { id kind status recipientEmail attempts lastError messageId recipient { email } } } }"""
REQUEUE = """mutation($input: RequeueDeadNotificationsInput!) {
  requeueDeadNotifications(input: $input) {
    requeuedCount mailQueue { pendingCount deadCount } userErrors { field code message } } }"""


async def test_mail_queue_api(api, db, uow, owner, token_for, tmp_path: Path) -> None:
    rows = await dead_world(db, uow, owner, tmp_path)
    admin = await token_for("admin@example.test", OrgRole.ADMINISTRATOR)
    assessor = await token_for("assessor@example.test", OrgRole.ASSESSOR)

    data = await api.query(MAIL_QUEUE, token=admin)
    queue_view = data["mailQueue"]
    assert (queue_view["pendingCount"], queue_view["sentCount"], queue_view["deadCount"]) == (
        0,
        0,
        3,
    )
    dead = {item["id"]: item for item in queue_view["recentDead"]}
    first_id = to_base64("Notification", rows[0].id)
    assert dead[first_id]["lastError"] == "550 no such user"
    assert dead[first_id]["attempts"] == 7
    assert dead[first_id]["recipient"] == {"email": rows[0].recipient_email}
    assert dead[first_id]["status"] == "DEAD"
    assert dead[first_id]["kind"] == "ALERT"

    errors = await api.errors(MAIL_QUEUE, token=assessor)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    node = "query($id: ID!) { node(id: $id) { ... on Notification { recipientEmail } } }"
    assert (await api.query(node, {"id": first_id}, token=admin))["node"] == {
        "recipientEmail": rows[0].recipient_email
    }
    assert (await api.query(node, {"id": first_id}, token=assessor))["node"] is None

    refused = await api.query(REQUEUE, {"input": {}}, token=assessor)
    assert refused["requeueDeadNotifications"]["userErrors"][0]["code"] == "FORBIDDEN"
    result = await api.query(REQUEUE, {"input": {"notificationIds": [first_id]}}, token=admin)
    assert result["requeueDeadNotifications"] == {
        "requeuedCount": 1,
        "mailQueue": {"pendingCount": 1, "deadCount": 2},
        "userErrors": [],
    }
    data = await api.query(MAIL_QUEUE, token=admin)
    assert data["mailQueue"]["oldestPendingCreatedAt"] is not None
    result = await api.query(REQUEUE, {"input": {"notificationIds": None}}, token=admin)
    assert result["requeueDeadNotifications"]["requeuedCount"] == 2


async def test_next_due_at_counts_leases(db, uow, owner, tmp_path: Path) -> None:
    now = start_of_test()
    settings = mail_settings(tmp_path)
    world = await make_alert_world(uow, owner, now, recipients=1)
    await queue(uow, settings, NotificationKind.ALERT, world.alert.id, world.recipients, now)
    assert await next_due_at(db.sessions) == now
    await claim_due(db.sessions, now)
    assert await next_due_at(db.sessions) == now + timedelta(seconds=LEASE_SECONDS)
