"""Daily digests (DOMAIN.md section 15): a digest policy's alerts reach each recipient in one
mail a day, sent when the day (UTC) is over, instead of one mail per alert.

The clock is frozen and moved; the evaluator and the sender are driven step by step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select
from strawberry.relay import to_base64

from cmgraph.alerts.evaluator import evaluate_pending
from cmgraph.alerts.schedule import run_schedule
from cmgraph.alerts.sender import send_due
from cmgraph.config import Settings
from cmgraph.domain import alert_policies as policies
from cmgraph.domain import clock
from cmgraph.domain.assignment import assign_actions
from cmgraph.domain.enums import (
    EventType,
    ImplementationStatus,
    NotificationKind,
    NotificationStatus,
    OrgRole,
    TestStatus,
)
from cmgraph.domain.models import Alert, AlertPolicy, DigestEntry, Event, Notification, User
from cmgraph.domain.workflow import change_action
from tests.builders import DAY, WorkedExample, worked_example
from tests.databases import POSTGRES_URL

T0 = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
D = T0.date()
END_OF_D = datetime(2030, 5, 7, 0, 0, tzinfo=UTC)
SETTINGS = Settings.from_env({}, public_url="https://cm.example.test")

CREATE_POLICY = """
mutation($input: CreateAlertPolicyInput!) {
  createAlertPolicy(input: $input) {
    alertPolicy { id name dailyDigest }
    userErrors { field code message }
  }
}"""
MAIL_QUEUE = "{ mailQueue { pendingCount oldestPendingCreatedAt } }"
UPDATE_POLICY = """
mutation($input: UpdateAlertPolicyInput!) {
  updateAlertPolicy(input: $input) {
    alertPolicy { id name dailyDigest enabled }
    userErrors { field code message }
  }
}"""


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    clock.freeze(T0)
    yield
    clock.reset()


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[EmailMessage, list[str]]] = []

    async def send(self, message: EmailMessage, recipients: list[str]) -> None:
        self.sent.append((message, recipients))

    def to(self, email: str) -> list[EmailMessage]:
        return [m for m, recipients in self.sent if recipients == [email]]


def plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


class World:
    def __init__(self, db: Any, uow: Any, api: Any, owner: Any, example: WorkedExample) -> None:
        self.db, self.uow, self.api, self.owner, self.example = db, uow, api, owner, example
        self.actions = {name: a.id for name, a in example.actions.items()}
        self.outbox = Outbox()

    async def change(self, action: str, **changes: Any) -> None:
        async with self.uow() as u:
            await change_action(u, self.owner, self.actions[action], changes)

    async def send(self) -> int:
        total = 0
        while sent := await send_due(self.db.sessions, self.outbox, SETTINGS):
            total += sent
        return total

    async def notifications(self, kind: NotificationKind) -> list[Notification]:
        async with self.db.sessions() as session:
            return list(
                await session.scalars(
                    select(Notification)
                    .where(Notification.kind == kind)
                    .order_by(Notification.recipient_email, Notification.subject_id)
                )
            )

    async def alerts(self, policy_id: int) -> list[Alert]:
        async with self.db.sessions() as session:
            return list(
                await session.scalars(
                    select(Alert).where(Alert.policy_id == policy_id).order_by(Alert.id)
                )
            )


@pytest.fixture
async def world(db, uow, api, owner, token_for) -> World:
    async with uow() as u:
        example = await worked_example(u, owner)
    w = World(db, uow, api, owner, example)
    w.ann = await token_for("ann@example.test", OrgRole.ADMINISTRATOR)  # type: ignore[attr-defined]
    w.bob = await token_for("bob@example.test", OrgRole.CONTRIBUTOR)  # type: ignore[attr-defined]
    async with uow() as u:  # the set-up's own events are not these tests'
        await u.session.execute(Event.__table__.update().values(processed_at=clock.now()))
    return w


async def user_gid(db, email: str) -> str:  # type: ignore[no-untyped-def]
    async with db.sessions() as session:
        return to_base64("User", await session.scalar(select(User.id).where(User.email == email)))


async def digest_policy(world: World) -> int:
    """Bob's digest policy on score changes and overdue work, Ann named as a recipient."""
    data = await world.api.query(
        CREATE_POLICY,
        {
            "input": {
                "name": "Daily roundup",
                "conditions": [{"type": "SCORE_CHANGE"}, {"type": "OVERDUE"}],
                "recipientIds": [await user_gid(world.db, "ann@example.test")],
                "dailyDigest": True,
            }
        },
        token=world.bob,  # type: ignore[attr-defined]
    )
    payload = data["createAlertPolicy"]
    assert payload["userErrors"] == []
    assert payload["alertPolicy"]["dailyDigest"] is True
    return await _policy_id(world, "Daily roundup")


async def _policy_id(world: World, name: str) -> int:
    async with world.db.sessions() as session:
        return int(await session.scalar(select(AlertPolicy.id).where(AlertPolicy.name == name)))


async def test_one_mail_per_recipient_and_day_listing_the_days_alerts(world: World) -> None:
    policy_id = await digest_policy(world)
    # Two alerts on day D, hours apart (beyond the aggregation window).
    await world.change(
        "T2", implementation_status=ImplementationStatus.IMPLEMENTED, implementation_date=DAY
    )
    await world.change("T2", test_status=TestStatus.PASSED, test_date=DAY)
    await evaluate_pending(world.db.sessions)
    clock.advance(timedelta(hours=3))
    await world.change("T2", test_status=TestStatus.FAILED_HIGH_RISK, test_date=DAY)
    await evaluate_pending(world.db.sessions)
    alerts = await world.alerts(policy_id)
    assert len(alerts) == 2

    # No mail of their own: one digest per recipient (Bob created the policy), due at the
    # end of the day; the default policy's alerts are mailed at once as before.
    alert_mail = await world.notifications(NotificationKind.ALERT)
    assert not {n.subject_id for n in alert_mail} & {a.id for a in alerts}
    digests = await world.notifications(NotificationKind.DIGEST)
    assert [(n.recipient_email, n.subject_id, n.next_attempt_at) for n in digests] == [
        ("ann@example.test", D.toordinal(), END_OF_D),
        ("bob@example.test", D.toordinal(), END_OF_D),
    ]
    assert await world.send() == len(alert_mail)
    assert all("Daily digest" not in str(m["Subject"]) for m, _ in world.outbox.sent)
    # Queued, but not waiting before the day is over.
    queue = (await world.api.query(MAIL_QUEUE, token=world.ann))["mailQueue"]  # type: ignore[attr-defined]
    assert queue == {"pendingCount": 2, "oldestPendingCreatedAt": None}

    clock.freeze(END_OF_D + timedelta(seconds=1))
    assert await world.send() == 2
    for email in ("ann@example.test", "bob@example.test"):
        (mail,) = [m for m in world.outbox.to(email) if "Daily digest" in str(m["Subject"])]
        assert str(mail["Subject"]) == "[cmgraph] Daily digest for 2030-05-06: 2 alerts"
        text = plain(mail)
        assert text.count("MEDIUM · Daily roundup") == 2
        assert "detected 2030-05-06 09:00 UTC" in text
        assert "detected 2030-05-06 12:00 UTC" in text
        for alert in alerts:
            assert f"/alerts/{to_base64('Alert', alert.id).replace('=', '%3D')}" in text
        assert str(mail["Date"]).endswith("+0000") and "7 May 2030 00:00:00" in str(mail["Date"])
    assert {n.status for n in await world.notifications(NotificationKind.DIGEST)} == {
        NotificationStatus.SENT
    }

    # The next day's alerts make the next day's digest.
    await world.change("T2", test_status=TestStatus.PASSED, test_date=DAY)
    await evaluate_pending(world.db.sessions)
    digests = await world.notifications(NotificationKind.DIGEST)
    assert sorted({n.subject_id for n in digests}) == [D.toordinal(), D.toordinal() + 1]
    await world.send()  # the default policy's alert mail, not the digest before the day ends
    assert sum("Daily digest" in str(m["Subject"]) for m, _ in world.outbox.sent) == 2
    clock.advance(timedelta(days=1))
    assert await world.send() == 2
    (mail,) = [
        m
        for m in world.outbox.to("ann@example.test")
        if str(m["Subject"]) == "[cmgraph] Daily digest for 2030-05-07: 1 alert"
    ]


async def test_date_findings_and_assignees_join_the_digest(world: World) -> None:
    """Scheduled findings are alerts like any other; an assignee told by a digest policy
    gets the alert in their own digest."""
    async with world.uow() as u:
        ann = await u.session.scalar(select(User).where(User.email == "ann@example.test"))
        assert ann is not None
        await assign_actions(
            u, world.owner, [world.actions["T2"]], ann.id, due_date=D - timedelta(days=1)
        )
        await policies.create_alert_policy(
            u,
            world.owner,
            "Overdue roundup",
            policies.PolicySettings(
                conditions=(policies.ConditionSpec(EventType.OVERDUE),),
                notify_assignee=True,
                daily_digest=True,
            ),
        )
    await evaluate_pending(world.db.sessions)  # the assignment's own mail
    await run_schedule(world.db.sessions)
    await evaluate_pending(world.db.sessions)
    digests = await world.notifications(NotificationKind.DIGEST)
    assert [n.recipient_email for n in digests] == ["ann@example.test", "owner@example.test"]
    clock.freeze(END_OF_D + timedelta(minutes=5))
    await world.send()
    (mail,) = [m for m in world.outbox.to("ann@example.test") if "Daily digest" in m["Subject"]]
    text = plain(mail)
    assert "MEDIUM · Overdue roundup" in text
    assert "1 event (OVERDUE): T2" in text


async def test_an_alert_after_its_days_digest_went_out_waits_for_the_next(
    world: World,
) -> None:
    """A worker whose clock is behind may open an alert for a day whose digest is sent."""
    policy_id = await digest_policy(world)
    await world.change(
        "T2", implementation_status=ImplementationStatus.IMPLEMENTED, implementation_date=DAY
    )
    await world.change("T2", test_status=TestStatus.PASSED, test_date=DAY)
    await evaluate_pending(world.db.sessions)
    clock.freeze(END_OF_D + timedelta(seconds=1))
    await world.send()
    await world.change("T2", test_status=TestStatus.FAILED_LOW_RISK, test_date=DAY)
    await evaluate_pending(world.db.sessions, now=END_OF_D - timedelta(seconds=1))
    late = (await world.alerts(policy_id))[-1]
    assert late.detected_at < END_OF_D
    pending = [
        n
        for n in await world.notifications(NotificationKind.DIGEST)
        if n.status is NotificationStatus.PENDING
    ]
    assert {n.subject_id for n in pending} == {D.toordinal() + 1}
    clock.advance(timedelta(days=1))
    await world.send()
    (mail,) = [
        m
        for m in world.outbox.to("bob@example.test")
        if "Daily digest for 2030-05-07" in str(m["Subject"])
    ]
    assert "detected 2030-05-06 23:59 UTC" in plain(mail)


async def test_the_default_policy_may_send_a_digest(world: World) -> None:
    default = to_base64("AlertPolicy", 1)
    owner = world.ann  # type: ignore[attr-defined]
    data = await world.api.query(
        UPDATE_POLICY, {"input": {"alertPolicyId": default, "dailyDigest": True}}, token=owner
    )
    assert data["updateAlertPolicy"]["userErrors"] == []
    assert data["updateAlertPolicy"]["alertPolicy"]["dailyDigest"] is True
    await world.change(
        "T2", implementation_status=ImplementationStatus.IMPLEMENTED, implementation_date=DAY
    )
    await world.change("T2", test_status=TestStatus.PASSED, test_date=DAY)
    await evaluate_pending(world.db.sessions)
    assert await world.notifications(NotificationKind.ALERT) == []
    assert {n.recipient_email for n in await world.notifications(NotificationKind.DIGEST)} == {
        "owner@example.test",
        "ann@example.test",
    }
    data = await world.api.query(
        UPDATE_POLICY, {"input": {"alertPolicyId": default, "dailyDigest": None}}, token=owner
    )
    assert [(e["field"], e["code"]) for e in data["updateAlertPolicy"]["userErrors"]] == [
        (["input", "dailyDigest"], "INVALID")
    ]


@pytest.mark.skipif(
    not POSTGRES_URL,
    reason="needs PostgreSQL (CMGRAPH_TEST_DATABASE_URL): SQLite runs one writer at a time",
)
async def test_concurrent_evaluators_list_shared_recipients_alerts_once(world: World) -> None:
    """Evaluators writing digests for the same people at once both finish, and each person
    gets one digest listing each of their alerts once."""
    async with world.uow() as u:
        people = {
            user.email: user.id
            for user in await u.session.scalars(
                select(User).where(User.email.in_(["ann@example.test", "bob@example.test"]))
            )
        }
        ann, bob = people["ann@example.test"], people["bob@example.test"]
        for name, kind, recipients in (
            ("Status roundup", EventType.IMPLEMENTATION_STATUS_CHANGE, (bob, ann)),
            ("Test roundup", EventType.TEST_STATUS_CHANGE, (ann, bob)),
            ("Score roundup", EventType.SCORE_CHANGE, (bob,)),
        ):
            await policies.create_alert_policy(
                u,
                world.owner,
                name,
                policies.PolicySettings(
                    conditions=(policies.ConditionSpec(kind),),
                    recipient_ids=recipients,
                    daily_digest=True,
                ),
            )
    for action in ("T2", "N1@G2"):
        await world.change(
            action, implementation_status=ImplementationStatus.IMPLEMENTED, implementation_date=DAY
        )
        await world.change(action, test_status=TestStatus.PASSED, test_date=DAY)

    async with world.db.sessions() as session:
        events = len(
            (await session.scalars(select(Event.id).where(Event.processed_at.is_(None)))).all()
        )
    done = await asyncio.gather(*(evaluate_pending(world.db.sessions, batch=1) for _ in range(2)))
    assert sum(done) == events  # each event once, between them
    async with world.db.sessions() as session:
        pending = await session.scalar(select(Event.id).where(Event.processed_at.is_(None)))
        listed = (
            await session.execute(
                select(Notification.recipient_email, AlertPolicy.name)
                .join(DigestEntry, DigestEntry.notification_id == Notification.id)
                .join(Alert, Alert.id == DigestEntry.alert_id)
                .join(AlertPolicy, AlertPolicy.id == Alert.policy_id)
            )
        ).all()
    assert pending is None
    digests = await world.notifications(NotificationKind.DIGEST)
    assert [(n.recipient_email, n.subject_id) for n in digests] == [
        ("ann@example.test", D.toordinal()),
        ("bob@example.test", D.toordinal()),
        ("owner@example.test", D.toordinal()),  # the policies' creator
    ]
    everything = {"Status roundup", "Test roundup", "Score roundup"}
    assert sorted(listed) == sorted(
        [("ann@example.test", name) for name in ("Status roundup", "Test roundup")]
        + [
            (email, name)
            for email in ("bob@example.test", "owner@example.test")
            for name in everything
        ]
    )
