"""The alert evaluator: matching, narrowing, scope, windows, thresholds, idempotence,
notifications and concurrent evaluators, on the worked example of DOMAIN.md section 7.

Changes go through the domain services, as any entry point would make them; time is
simulated with ``evaluate_pending(now=...)``.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from cmgraph.alerts.evaluator import evaluate_pending
from cmgraph.alerts.matching import (
    EventFacts,
    Place,
    condition_matches,
    policy_matches,
    scope_matches,
)
from cmgraph.domain import alert_policies as policies
from cmgraph.domain.accounts import create_user, principal_for
from cmgraph.domain.alert_policies import ConditionSpec, PolicySettings, ScopeSpec
from cmgraph.domain.assignment import assign_actions
from cmgraph.domain.enums import (
    AlertStatus,
    AlertTrigger,
    EventType,
    ImplementationStatus,
    NotificationKind,
    OrgRole,
    Severity,
    TestStatus,
)
from cmgraph.domain.models import Alert, AlertMatch, AlertPolicy, Event, Notification, Template
from cmgraph.domain.workflow import change_action
from tests.builders import DAY, worked_example

T0 = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)

SCORE_DOWN = ConditionSpec(EventType.SCORE_CHANGE, direction=policies.ScoreDirection.DOWN)
ANY_SCORE = ConditionSpec(EventType.SCORE_CHANGE)


# -- pure matching --------------------------------------------------------------------------


def facts(kind: EventType, places: dict[int, Place] | None = None, category=None, **payload):
    return EventFacts(
        kind.value, {"assessmentIds": list(places or {}), **payload}, places or {}, category
    )


@pytest.mark.parametrize(
    ("condition", "delta", "expected"),
    [
        ({"type": "SCORE_CHANGE"}, 0, True),
        ({"type": "SCORE_CHANGE", "direction": "ANY"}, -3, True),
        ({"type": "SCORE_CHANGE", "direction": "DOWN"}, -3, True),
        ({"type": "SCORE_CHANGE", "direction": "DOWN"}, 3, False),
        ({"type": "SCORE_CHANGE", "direction": "DOWN"}, 0, False),
        ({"type": "SCORE_CHANGE", "direction": "UP"}, 0.5, True),
        ({"type": "SCORE_CHANGE", "direction": "UP"}, -0.5, False),
        ({"type": "SCORE_CHANGE", "direction": "ANY", "minPoints": 5}, -5, True),
        ({"type": "SCORE_CHANGE", "direction": "ANY", "minPoints": 5}, 4.9, False),
        ({"type": "SCORE_CHANGE", "direction": "DOWN", "minPoints": 5}, 27, False),
        ({"type": "TEST_STATUS_CHANGE"}, -3, False),
    ],
)
def test_score_conditions_narrow_by_direction_and_size(condition, delta, expected) -> None:
    assert condition_matches(condition, "SCORE_CHANGE", {"delta": delta}) is expected


def test_status_conditions_narrow_by_the_status_reached() -> None:
    failed = {
        "type": "TEST_STATUS_CHANGE",
        "toStatuses": ["FAILED_HIGH_RISK", "FAILED_MEDIUM_RISK"],
    }
    assert condition_matches(
        failed, "TEST_STATUS_CHANGE", {"from": "PASSED", "to": "FAILED_HIGH_RISK"}
    )
    assert not condition_matches(
        failed, "TEST_STATUS_CHANGE", {"from": "FAILED_HIGH_RISK", "to": "PASSED"}
    )
    assert not condition_matches(failed, "IMPLEMENTATION_STATUS_CHANGE", {"to": "FAILED_HIGH_RISK"})
    anything = {"type": "IMPLEMENTATION_STATUS_CHANGE"}
    assert condition_matches(anything, "IMPLEMENTATION_STATUS_CHANGE", {"to": "PLANNED"})
    assert condition_matches({"type": "EVIDENCE_CHANGE"}, "EVIDENCE_CHANGE", {})


def test_scope_lists_combine_like_filters() -> None:
    # Assessment 1 in group 10 under regulation 100; assessment 2 in group 20 under 200.
    event = facts(EventType.SCORE_CHANGE, {1: Place(10, 100), 2: Place(20, 200)}, "Control access")
    assert scope_matches({}, event)
    assert scope_matches({"assessmentIds": [2, 3]}, event)
    assert not scope_matches({"assessmentIds": [3]}, event)
    assert scope_matches({"groupIds": [20]}, event)
    assert scope_matches({"regulationIds": [100]}, event)
    # Every given list must hold for one and the same assessment.
    assert scope_matches({"groupIds": [10], "regulationIds": [100]}, event)
    assert not scope_matches({"groupIds": [10], "regulationIds": [200]}, event)
    assert scope_matches({"categories": ["Control access"]}, event)
    assert not scope_matches({"categories": ["Manage devices"]}, event)
    assert not scope_matches({"groupIds": [20], "categories": ["Manage devices"]}, event)
    # An event about a deleted assessment, or without an action, matches only open scopes.
    gone = facts(EventType.UPDATE_AVAILABLE, {})
    assert scope_matches({}, gone)
    assert not scope_matches({"assessmentIds": [1]}, gone)
    assert not scope_matches({"categories": ["Control access"]}, gone)


def test_a_policy_matches_on_any_condition_within_scope() -> None:
    conditions = [{"type": "EVIDENCE_CHANGE"}, {"type": "SCORE_CHANGE", "direction": "DOWN"}]
    down = facts(EventType.SCORE_CHANGE, {1: Place(10, 100)}, delta=-1)
    up = facts(EventType.SCORE_CHANGE, {1: Place(10, 100)}, delta=1)
    evidence = facts(EventType.EVIDENCE_CHANGE, {1: Place(10, 100)})
    assert policy_matches(conditions, {}, down)
    assert policy_matches(conditions, {}, evidence)
    assert not policy_matches(conditions, {}, up)
    assert not policy_matches(conditions, {"groupIds": [11]}, down)


def test_alert_kinds() -> None:
    assert policies.alert_kind(["SCORE_CHANGE"]) is policies.AlertKind.SINGLE_EVENT
    assert policies.alert_kind(["SCORE_CHANGE"] * 2) is policies.AlertKind.MULTI_EVENT
    assert (
        policies.alert_kind(["SCORE_CHANGE", "SCORE_CHANGE", "TEST_STATUS_CHANGE"])
        is policies.AlertKind.MULTI_CONDITION
    )


# -- the evaluator on a database ------------------------------------------------------------


class World:
    """The worked example, its people, and shortcuts for changes and evaluation."""

    def __init__(self, db: Any, uow: Any, owner: Any, example: Any) -> None:
        self.db, self.uow, self.owner, self.example = db, uow, owner, example
        self.actions = {name: a.id for name, a in example.actions.items()}
        self.people: dict[str, Any] = {}

    async def policy(self, name: str, *conditions: ConditionSpec, **settings: Any) -> int:
        async with self.uow() as u:
            row = await policies.create_alert_policy(
                u,
                settings.pop("actor", self.owner),
                name,
                PolicySettings(conditions=conditions, **settings),
            )
            return row.id

    async def update_policy(self, policy_id: int, **changes: Any) -> None:
        async with self.uow() as u:
            await policies.update_alert_policy(u, self.owner, policy_id, changes)

    async def change(self, action: str, **changes: Any) -> None:
        async with self.uow() as u:
            await change_action(u, self.owner, self.actions[action], changes)

    async def implement(self, action: str) -> None:
        await self.change(
            action,
            implementation_status=ImplementationStatus.IMPLEMENTED,
            implementation_date=DAY,
        )

    async def unimplement(self, action: str) -> None:
        await self.change(action, implementation_status=ImplementationStatus.PLANNED)

    async def test(self, action: str, status: TestStatus) -> None:
        await self.change(action, test_status=status, test_date=DAY)

    async def run(self, at: datetime, **options: Any) -> int:
        return await evaluate_pending(self.db.sessions, now=at, **options)

    async def alerts(self, policy_id: int | None) -> list[tuple[Alert, list[str]]]:
        """The policy's alerts (or the ones whose policy was deleted), with their event types."""
        async with self.db.sessions() as session:
            rows = list(
                await session.scalars(
                    select(Alert)
                    .where(
                        Alert.policy_id.is_(None)
                        if policy_id is None
                        else Alert.policy_id == policy_id
                    )
                    .order_by(Alert.id)
                )
            )
            result = []
            for alert in rows:
                types = list(
                    await session.scalars(
                        select(Event.type)
                        .join(AlertMatch, AlertMatch.event_id == Event.id)
                        .where(AlertMatch.alert_id == alert.id)
                        .order_by(Event.id)
                    )
                )
                result.append((alert, types))
            return result

    async def count(self, model: Any, *where: Any) -> int:
        async with self.db.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)))

    async def notifications(self, kind: NotificationKind | None = None) -> list[Notification]:
        async with self.db.sessions() as session:
            statement = select(Notification).order_by(Notification.id)
            if kind is not None:
                statement = statement.where(Notification.kind == kind)
            return list(await session.scalars(statement))

    async def set_alert(self, alert_id: int, status: AlertStatus) -> None:
        async with self.uow() as u:
            await policies.update_alert(u, self.owner, alert_id, status=status)

    async def person(self, name: str, role: OrgRole | None, **options: Any) -> int:
        async with self.uow() as u:
            user = await create_user(u, f"{name}@eval.test", name, role, **options)
            self.people[name] = await principal_for(u, user)
            return user.id


@pytest.fixture
async def world(db, uow, owner) -> World:
    return await build_world(db, uow, owner)


async def build_world(db, uow, owner) -> World:  # type: ignore[no-untyped-def]
    async with uow() as u:
        example = await worked_example(u, owner)
    w = World(db, uow, owner, example)
    # Start from a quiet log: building the example wrote events nobody is testing here.
    async with db.sessions() as session, session.begin():
        await session.execute(update(Event).values(processed_at=T0 - timedelta(days=1)))
    return w


async def test_score_down_only(world: World) -> None:
    policy = await world.policy("Score drops", SCORE_DOWN)
    await world.implement("T2")
    await world.test("T2", TestStatus.PASSED)  # T2 earns its point: up
    assert await world.run(T0) > 0
    assert await world.alerts(policy) == []
    await world.unimplement("T1")  # T1 loses 27 points: down
    await world.run(T0 + timedelta(minutes=5))
    [(alert, types)] = await world.alerts(policy)
    assert types == ["SCORE_CHANGE"]
    assert alert.severity is Severity.MEDIUM and alert.status is AlertStatus.ACTIVE


async def test_minimum_points(world: World) -> None:
    policy = await world.policy("Big moves", ConditionSpec(EventType.SCORE_CHANGE, min_points=5))
    await world.implement("T2")
    await world.test("T2", TestStatus.PASSED)  # +1
    await world.run(T0)
    assert await world.alerts(policy) == []
    await world.unimplement("T1")  # -27
    await world.run(T0 + timedelta(minutes=5))
    assert len(await world.alerts(policy)) == 1


async def test_status_to_given_values(world: World) -> None:
    policy = await world.policy(
        "High risk failures",
        ConditionSpec(EventType.TEST_STATUS_CHANGE, to_statuses=("FAILED_HIGH_RISK",)),
    )
    await world.test("T1", TestStatus.FAILED_LOW_RISK)
    await world.run(T0)
    assert await world.alerts(policy) == []
    await world.test("T1", TestStatus.FAILED_HIGH_RISK)
    await world.run(T0 + timedelta(minutes=5))
    [(_, types)] = await world.alerts(policy)
    assert types == ["TEST_STATUS_CHANGE"]


@pytest.mark.parametrize(
    ("scope", "matching", "other"),
    [
        ("a3", "N1@G2", "N1@G1"),  # N1@G1 is in A1 and A2, N1@G2 in A3
        ("g2", "N1@G2", "N1@G1"),
        ("regulation_y", "T2", "N1@G2"),  # A2 is the only assessment of Regulation Y
        ("category", "T2", "N1@G1"),  # T2 is "Discover and respond", N1 "Govern information"
    ],
)
async def test_scope(world: World, scope: str, matching: str, other: str) -> None:
    example = world.example
    async with world.db.sessions() as session:
        regulation_y = await session.scalar(
            select(Template.regulation_id).where(Template.id == example.a2.template_id)
        )
    spec = {
        "a3": ScopeSpec(assessment_ids=(example.a3.id,)),
        "g2": ScopeSpec(group_ids=(example.a3.group_id,)),
        "regulation_y": ScopeSpec(regulation_ids=(regulation_y,)),
        "category": ScopeSpec(categories=("Discover and respond",)),
    }[scope]
    policy = await world.policy(
        "Scoped", ConditionSpec(EventType.IMPLEMENTATION_STATUS_CHANGE), scope=spec
    )
    await world.change(other, implementation_status=ImplementationStatus.PLANNED)
    await world.run(T0)
    assert await world.alerts(policy) == []
    await world.change(matching, implementation_status=ImplementationStatus.PLANNED)
    await world.run(T0 + timedelta(minutes=5))
    [(_, types)] = await world.alerts(policy)
    assert types == ["IMPLEMENTATION_STATUS_CHANGE"]


async def test_matches_within_the_window_join_the_open_alert(world: World) -> None:
    policy = await world.policy("Status", ConditionSpec(EventType.IMPLEMENTATION_STATUS_CHANGE))
    await world.change("T2", implementation_status=ImplementationStatus.PLANNED)
    await world.run(T0)
    await world.change("N1@G2", implementation_status=ImplementationStatus.PLANNED)
    await world.run(T0 + timedelta(seconds=59))
    [(first, types)] = await world.alerts(policy)
    assert types == ["IMPLEMENTATION_STATUS_CHANGE"] * 2
    assert first.detected_at == T0 and first.window_ends_at == T0 + timedelta(seconds=60)
    await world.change("T2", implementation_status=ImplementationStatus.NOT_IMPLEMENTED)
    await world.run(T0 + timedelta(seconds=60))  # the window has closed
    alerts = await world.alerts(policy)
    assert [len(types) for _, types in alerts] == [2, 1]
    assert alerts[1][0].detected_at == T0 + timedelta(seconds=60)


async def test_the_default_policy_groups_score_changes_per_hour(world: World) -> None:
    async with world.db.sessions() as session:
        default = await session.scalar(select(AlertPolicy.id).where(AlertPolicy.is_default))
    await world.unimplement("T1")
    await world.run(T0)
    await world.implement("T2")
    await world.test("T2", TestStatus.PASSED)
    await world.run(T0 + timedelta(minutes=59))
    [(alert, types)] = await world.alerts(default)
    assert types == ["SCORE_CHANGE", "SCORE_CHANGE"]
    assert alert.window_ends_at == T0 + timedelta(hours=1)
    await world.implement("T1")
    await world.test("T1", TestStatus.PASSED)
    await world.run(T0 + timedelta(minutes=61))
    assert [len(types) for _, types in await world.alerts(default)] == [2, 1]


async def test_threshold_needs_n_matches_within_m_minutes(world: World) -> None:
    policy = await world.policy(
        "Failure storm",
        ConditionSpec(EventType.IMPLEMENTATION_STATUS_CHANGE),
        trigger=AlertTrigger.THRESHOLD,
        threshold_count=3,
        threshold_minutes=10,
    )
    flip = [ImplementationStatus.PLANNED, ImplementationStatus.NOT_IMPLEMENTED]
    moves = iter(flip * 10)

    async def one_match(at: datetime) -> None:
        await world.change("T2", implementation_status=next(moves))
        await world.run(at)

    await one_match(T0)
    await one_match(T0 + timedelta(minutes=5))
    assert await world.alerts(policy) == []
    await one_match(T0 + timedelta(minutes=11))  # the first match is too old: 2 in 10 min
    assert await world.alerts(policy) == []
    await one_match(T0 + timedelta(minutes=12))  # 5, 11 and 12 minutes: three
    [(alert, types)] = await world.alerts(policy)
    assert len(types) == 3
    assert alert.detected_at == T0 + timedelta(minutes=12)
    await one_match(T0 + timedelta(minutes=12, seconds=30))  # within the aggregation window
    assert [len(t) for _, t in await world.alerts(policy)] == [4]
    await one_match(T0 + timedelta(minutes=14))  # reported matches do not count again
    await one_match(T0 + timedelta(minutes=15))
    assert [len(t) for _, t in await world.alerts(policy)] == [4]
    await one_match(T0 + timedelta(minutes=16))
    assert [len(t) for _, t in await world.alerts(policy)] == [4, 3]
    assert await world.count(AlertMatch, AlertMatch.policy_id == policy) == 8


async def test_multi_event_and_multi_condition_alerts(world: World) -> None:
    scores = await world.policy("Scores", ANY_SCORE)
    statuses = await world.policy(
        "Statuses",
        ConditionSpec(EventType.IMPLEMENTATION_STATUS_CHANGE),
        ConditionSpec(EventType.TEST_STATUS_CHANGE),
    )
    await world.unimplement("T1")  # implementation and test status change, score down
    await world.implement("T2")
    await world.test("T2", TestStatus.PASSED)  # score up
    await world.run(T0)
    [(_, score_types)] = await world.alerts(scores)
    [(_, status_types)] = await world.alerts(statuses)
    assert policies.alert_kind(score_types) is policies.AlertKind.MULTI_EVENT
    assert policies.alert_kind(status_types) is policies.AlertKind.MULTI_CONDITION
    assert sorted(status_types) == [
        "IMPLEMENTATION_STATUS_CHANGE",
        "IMPLEMENTATION_STATUS_CHANGE",
        "TEST_STATUS_CHANGE",
        "TEST_STATUS_CHANGE",
    ]


@pytest.mark.parametrize("closed", [AlertStatus.RESOLVED, AlertStatus.DISMISSED])
async def test_a_match_after_the_alert_was_closed_opens_a_new_one(
    world: World, closed: AlertStatus
) -> None:
    policy = await world.policy("Status", ConditionSpec(EventType.IMPLEMENTATION_STATUS_CHANGE))
    await world.unimplement("T2")
    await world.run(T0)
    [(alert, _)] = await world.alerts(policy)
    await world.set_alert(alert.id, AlertStatus.INVESTIGATING)
    await world.change("N1@G2", implementation_status=ImplementationStatus.PLANNED)
    await world.run(T0 + timedelta(seconds=10))
    assert [len(t) for _, t in await world.alerts(policy)] == [2]  # investigating is open
    await world.set_alert(alert.id, closed)
    await world.implement("T2")
    await world.run(T0 + timedelta(seconds=20))  # still inside the first window
    alerts = await world.alerts(policy)
    assert [len(t) for _, t in alerts] == [2, 1]
    assert alerts[1][0].status is AlertStatus.ACTIVE


async def test_reprocessing_never_duplicates(world: World) -> None:
    creator = await world.person("carla", OrgRole.CONTRIBUTOR)
    policy = await world.policy(
        "Everything",
        ANY_SCORE,
        ConditionSpec(EventType.ASSIGNMENT_CHANGE),
        actor=world.people["carla"],
    )
    await world.unimplement("T1")
    async with world.uow() as u:
        await assign_actions(u, world.owner, [world.actions["T2"]], creator, notify=True)
    processed = await world.run(T0)
    before = (
        await world.count(Alert),
        await world.count(AlertMatch),
        [(n.kind, n.subject_id, n.recipient_id, n.message_id) for n in await world.notifications()],
    )
    assert before[0] == 2  # ours and the default policy's
    assert len(before[2]) >= 3

    async with world.db.sessions() as session, session.begin():
        await session.execute(
            update(Event).where(Event.processed_at == T0).values(processed_at=None)
        )
    # Much later, so nothing would join: only the unique keys stop a second alert.
    assert await world.run(T0 + timedelta(days=1)) == processed
    after = (
        await world.count(Alert),
        await world.count(AlertMatch),
        [(n.kind, n.subject_id, n.recipient_id, n.message_id) for n in await world.notifications()],
    )
    assert after == before
    assert [len(t) for _, t in await world.alerts(policy)] == [2]


async def test_disabled_policies_do_not_match(world: World) -> None:
    policy = await world.policy("Off", ANY_SCORE, enabled=False)
    await world.unimplement("T1")
    await world.run(T0)
    assert await world.alerts(policy) == []
    assert await world.count(AlertMatch, AlertMatch.policy_id == policy) == 0
    await world.update_policy(policy, enabled=True)
    await world.implement("T1")
    await world.test("T1", TestStatus.PASSED)
    await world.run(T0 + timedelta(minutes=1))
    assert len(await world.alerts(policy)) == 1


async def test_an_edit_applies_to_the_next_event(world: World) -> None:
    passed = ConditionSpec(EventType.TEST_STATUS_CHANGE, to_statuses=("PASSED",))
    failed = ConditionSpec(EventType.TEST_STATUS_CHANGE, to_statuses=("FAILED_LOW_RISK",))
    policy = await world.policy("Tests", passed)
    await world.test("T1", TestStatus.FAILED_LOW_RISK)
    await world.run(T0)
    assert await world.alerts(policy) == []
    await world.update_policy(policy, conditions=[failed], severity=Severity.HIGH)
    await world.test("T1", TestStatus.PASSED)
    await world.test("T1", TestStatus.FAILED_LOW_RISK)
    await world.run(T0 + timedelta(minutes=1))
    [(alert, types)] = await world.alerts(policy)
    assert types == ["TEST_STATUS_CHANGE"] and alert.severity is Severity.HIGH
    assert alert.policy_snapshot["conditions"] == [
        {"type": "TEST_STATUS_CHANGE", "toStatuses": ["FAILED_LOW_RISK"]}
    ]


async def test_deleting_a_policy_keeps_its_alerts(world: World) -> None:
    policy = await world.policy("Temporary", ANY_SCORE, severity=Severity.LOW)
    await world.unimplement("T1")
    await world.unimplement("T2")  # not implemented before: no score change
    await world.implement("T2")
    await world.test("T2", TestStatus.PASSED)
    await world.run(T0)
    [(alert, types)] = await world.alerts(policy)
    async with world.uow() as u:
        await policies.delete_alert_policy(u, world.owner, policy)
    assert await world.count(AlertPolicy, AlertPolicy.id == policy) == 0
    async with world.db.sessions() as session:
        kept = await session.get(Alert, alert.id)
        event_ids = list(
            await session.scalars(
                select(Event.id).where(Event.type == "SCORE_CHANGE", Event.processed_at == T0)
            )
        )
    assert kept.policy_id is None and kept.severity is Severity.LOW
    assert kept.policy_snapshot["name"] == "Temporary"
    async with world.db.sessions() as session:
        kept_events = list(
            await session.scalars(
                select(AlertMatch.event_id).where(AlertMatch.alert_id == alert.id)
            )
        )
    assert sorted(kept_events) == sorted(event_ids)
    assert len(event_ids) == len(types) == 2


async def test_new_alerts_notify_recipients_once(world: World) -> None:
    admin = await world.person("adam", OrgRole.ADMINISTRATOR)
    await world.person("rita", OrgRole.READER)
    await world.person("robot", OrgRole.ADMINISTRATOR, is_automation=True)
    contributor = await world.person("carla", OrgRole.CONTRIBUTOR)
    named = await world.person("nina", OrgRole.READER)
    policy = await world.policy(
        "Mine", ANY_SCORE, recipient_ids=[named], actor=world.people["carla"]
    )
    await world.unimplement("T1")
    await world.run(T0)
    await world.implement("T1")
    await world.test("T1", TestStatus.PASSED)  # joins both alerts: no more mail
    await world.run(T0 + timedelta(seconds=30))

    [(ours, _)] = await world.alerts(policy)
    async with world.db.sessions() as session:
        default = await session.scalar(select(AlertPolicy.id).where(AlertPolicy.is_default))
    [(theirs, _)] = await world.alerts(default)
    mail = await world.notifications(NotificationKind.ALERT)
    by_alert = {
        a: sorted(n.recipient_id for n in mail if n.subject_id == a) for a in (ours.id, theirs.id)
    }
    assert by_alert[ours.id] == sorted([named, contributor])  # named recipients and the creator
    assert by_alert[theirs.id] == sorted([world.owner.user_id, admin])  # owners, administrators
    assert len(mail) == 4
    for n in mail:
        assert re.fullmatch(
            rf"<alert-{n.subject_id}-{n.recipient_id}\.[0-9a-f]{{16}}@cmgraph>", n.message_id
        )
        assert n.next_attempt_at == T0 and n.attempts == 0 and n.status.value == "PENDING"
        assert n.recipient_email.endswith(("@eval.test", "@example.test"))
    assert len({n.message_id for n in mail}) == 4


async def test_assignment_events_notify_the_assignee_when_asked(world: World) -> None:
    ann = await world.person("ann", OrgRole.CONTRIBUTOR)
    bob = await world.person("bob", OrgRole.CONTRIBUTOR)
    async with world.uow() as u:
        await assign_actions(u, world.owner, [world.actions["T1"], world.actions["T2"]], ann)
        await assign_actions(u, world.owner, [world.actions["N1@G1"]], bob, notify=False)
        await assign_actions(u, world.owner, [world.actions["T1"]], None)  # unassign
    await world.run(T0)
    mail = await world.notifications(NotificationKind.ASSIGNMENT)
    assert [n.recipient_id for n in mail] == [ann, ann]
    async with world.db.sessions() as session:
        events = list(
            await session.scalars(
                select(Event)
                .where(
                    Event.type == "ASSIGNMENT_CHANGE", Event.id.in_([n.subject_id for n in mail])
                )
                .order_by(Event.id)
            )
        )
    assert [e.action_id for e in events] == [world.actions["T1"], world.actions["T2"]]
    assert all(e.payload["toUserId"] == ann and e.payload["notify"] for e in events)
    assert all(
        re.fullmatch(r"<assignment-\d+-\d+\.[0-9a-f]{16}@cmgraph>", n.message_id) for n in mail
    )


async def test_disabled_people_get_no_alert_or_assignment_mail(world: World) -> None:
    from cmgraph.domain.people import update_user

    admin = await world.person("adam", OrgRole.ADMINISTRATOR)
    gone_admin = await world.person("gina", OrgRole.ADMINISTRATOR)
    named = await world.person("nina", OrgRole.READER)
    gone_named = await world.person("nick", OrgRole.READER)
    ann = await world.person("ann", OrgRole.CONTRIBUTOR)
    policy = await world.policy("Mine", ANY_SCORE, recipient_ids=[named, gone_named])
    async with world.uow() as u:
        await assign_actions(u, world.owner, [world.actions["T2"]], ann)
    async with world.uow() as u:
        for person in (gone_admin, gone_named, ann):
            await update_user(u, None, person, {"disabled": True})
    await world.unimplement("T1")
    await world.run(T0)

    [(ours, _)] = await world.alerts(policy)
    mail = await world.notifications(NotificationKind.ALERT)
    recipients = {n.recipient_id for n in mail}
    # The named recipient and the creator; not the disabled named one.
    assert {n.recipient_id for n in mail if n.subject_id == ours.id} == {named, world.owner.user_id}
    assert {named, admin, world.owner.user_id} <= recipients
    assert not {gone_admin, gone_named} & recipients
    assert await world.notifications(NotificationKind.ASSIGNMENT) == []


@pytest.mark.parametrize(("evaluators", "batch"), [(2, 3), (4, 1)])
async def test_concurrent_evaluators_take_each_event_once(
    world: World, evaluators: int, batch: int
) -> None:
    policy = await world.policy("Status", ConditionSpec(EventType.IMPLEMENTATION_STATUS_CHANGE))
    statuses = [ImplementationStatus.PLANNED, ImplementationStatus.NOT_IMPLEMENTED] * 10
    for status in statuses:
        await world.change("T2", implementation_status=status)
        await world.change("N1@G2", implementation_status=status)
    pending = await world.count(Event, Event.processed_at.is_(None))
    assert pending == 40

    counts = await asyncio.gather(*(world.run(T0, batch=batch) for _ in range(evaluators)))
    assert sum(counts) == pending
    assert await world.count(Event, Event.processed_at.is_(None)) == 0
    # One alert for the policy, holding every event once.
    [(_, types)] = await world.alerts(policy)
    assert len(types) == 40
    assert await world.count(Alert, Alert.policy_id == policy) == 1
    mail = await world.notifications(NotificationKind.ALERT)
    assert len(mail) == len({(n.subject_id, n.recipient_id) for n in mail}) == 1


async def test_a_malformed_event_does_not_stop_the_pipeline(world: World) -> None:
    policy = await world.policy("Status", ConditionSpec(EventType.IMPLEMENTATION_STATUS_CHANGE))
    down = await world.policy(
        "Down", SCORE_DOWN, scope=ScopeSpec(assessment_ids=(world.example.a1.id,))
    )
    async with world.db.sessions() as session, session.begin():
        session.add_all(
            [
                Event(type="SCORE_CHANGE", payload={"assessmentIds": "A1", "delta": "lots"}),
                Event(type="IMPLEMENTATION_STATUS_CHANGE", payload={"to": 7}),
                Event(type="ASSIGNMENT_CHANGE", payload={"toUserId": "me", "notify": True}),
                Event(type="NO_SUCH_TYPE", payload=None),
            ]
        )
    await world.change("T2", implementation_status=ImplementationStatus.PLANNED)
    assert await world.run(T0) == 5
    assert await world.count(Event, Event.processed_at.is_(None)) == 0
    assert [types for _, types in await world.alerts(policy)] == [
        ["IMPLEMENTATION_STATUS_CHANGE", "IMPLEMENTATION_STATUS_CHANGE"]
    ]
    assert await world.alerts(down) == []
    assert await world.notifications(NotificationKind.ASSIGNMENT) == []
