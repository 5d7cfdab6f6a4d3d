"""The scheduled checks (DOMAIN.md section 15): due soon, overdue, retest due and evidence
expiring, reported once per item and day whatever the number of workers, restarts and
runs, then through the ordinary pipeline: policies, alerts, mail and subscriptions.

Time never passes by itself here: the one clock is frozen and moved (``domain.clock``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select
from strawberry.relay import to_base64

from cmgraph.adapters.db import create_engine, session_factory
from cmgraph.alerts.evaluator import evaluate_pending
from cmgraph.alerts.runner import BackgroundWork
from cmgraph.alerts.schedule import run_schedule, seconds_until_next_run
from cmgraph.alerts.sender import send_due
from cmgraph.config import Settings
from cmgraph.domain import accounts, clock
from cmgraph.domain.assessments import NewAssessment, archive_assessment, create_assessment
from cmgraph.domain.enums import (
    Enforcement,
    EventType,
    ImplementationStatus,
    ImplementationType,
    OrgRole,
    Purpose,
    TestStatus,
)
from cmgraph.domain.evidence import add_evidence_link
from cmgraph.domain.models import AlertMatch, Event, ImprovementAction, ScheduledCheck, User
from cmgraph.domain.permissions import Principal
from cmgraph.domain.scheduled_checks import CHECKED_KINDS
from cmgraph.domain.templates import ActionSpec, ControlSpec, TemplateSpec, import_template
from cmgraph.domain.workflow import change_action
from cmgraph.http.app import create_app
from tests.builders import WorkedExample, worked_example
from tests.databases import Database
from tests.graphql_ws import WsClient, hub_of, subscribed, uvicorn_server, wait_until

T0 = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
TODAY = T0.date()
KINDS = [k.value for k in CHECKED_KINDS]

CREATE_POLICY = """
mutation($input: CreateAlertPolicyInput!) {
  createAlertPolicy(input: $input) {
    alertPolicy { id name dailyDigest conditions { type direction minPoints toStatuses } }
    userErrors { field code message }
  }
}"""
ALERTS = """
query($filter: AlertFilter) {
  alerts(filter: $filter) {
    nodes {
      policyName severity kind eventCount
      events { type details user { email } action { key } assessments { name } }
    }
  }
}"""
ALERT_CHANGED = """
subscription { alertChanged { policyName eventCount events { type action { key } } } }
"""


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    clock.freeze(T0)
    yield
    clock.reset()


@dataclass
class World:
    example: WorkedExample
    actions: dict[str, int]
    evidence: dict[str, int]


async def dated_world(uow, owner: Principal) -> World:  # type: ignore[no-untyped-def]
    """The worked example with dates: T2 (A2) overdue, N1@G2 (A3) due soon, N1@G1 (A1, A2)
    passed long ago with a 30-day cadence, T1 (A1, A3) closed though past its due date,
    and on T1 evidence to review within the week, later, and already expired."""
    async with uow() as u:
        example = await worked_example(u, owner)
        actions = {name: a.id for name, a in example.actions.items()}
        await change_action(u, owner, actions["T2"], {"due_date": TODAY - timedelta(days=2)})
        await change_action(u, owner, actions["N1@G2"], {"due_date": TODAY + timedelta(days=3)})
        await change_action(u, owner, actions["N1@G1"], {"retest_interval_days": 30})
        await change_action(u, owner, actions["T1"], {"due_date": TODAY - timedelta(days=10)})
        evidence = {}
        for name, days in (("Pen test", 5), ("Policy", 30), ("Old scan", -1)):
            row = await add_evidence_link(
                u,
                owner,
                actions["T1"],
                name,
                f"https://evidence.test/{days}",
                review_by=TODAY + timedelta(days=days),
            )
            evidence[name] = row.id
    return World(example, actions, evidence)


@pytest.fixture
async def world(uow, owner: Principal) -> World:
    return await dated_world(uow, owner)


async def reported(db: Database, kinds: list[str] = KINDS) -> list[Event]:
    async with db.sessions() as session:
        return list(
            await session.scalars(select(Event).where(Event.type.in_(kinds)).order_by(Event.id))
        )


def subject(event: Event) -> int:
    return int(event.payload.get("evidenceId") or event.action_id or 0)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[EmailMessage, list[str]]] = []

    async def send(self, message: EmailMessage, recipients: list[str]) -> None:
        self.sent.append((message, recipients))


def plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


async def test_each_finding_is_reported_once_a_day(db, world: World) -> None:
    ids, a = world.actions, world.example
    run = await run_schedule(db.sessions)
    assert run.day == TODAY
    assert run.checks.reported == {
        "DUE_SOON": 1,
        "OVERDUE": 1,
        "RETEST_DUE": 1,
        "EVIDENCE_EXPIRING": 1,
    }
    events = {e.type: e for e in await reported(db)}
    overdue = events["OVERDUE"]
    assert (overdue.action_id, overdue.actor_id) == (ids["T2"], None)
    assert overdue.payload == {
        "assessmentIds": [a.a2.id],
        "day": TODAY.isoformat(),
        "dueDate": (TODAY - timedelta(days=2)).isoformat(),
        "daysLeft": -2,
    }
    due_soon = events["DUE_SOON"]
    assert (due_soon.action_id, due_soon.payload["assessmentIds"]) == (ids["N1@G2"], [a.a3.id])
    assert due_soon.payload["daysLeft"] == 3
    retest = events["RETEST_DUE"]
    assert retest.action_id == ids["N1@G1"]
    assert retest.payload["assessmentIds"] == sorted([a.a1.id, a.a2.id])
    assert (retest.payload["testDate"], retest.payload["retestDueOn"]) == (
        "2026-01-15",
        "2026-02-14",
    )
    expiring = events["EVIDENCE_EXPIRING"]
    assert (expiring.action_id, expiring.payload["evidenceId"]) == (
        ids["T1"],
        world.evidence["Pen test"],
    )
    assert expiring.payload["assessmentIds"] == sorted([a.a1.id, a.a3.id])
    assert (expiring.payload["name"], expiring.payload["daysLeft"]) == ("Pen test", 5)

    # Again the same day, as every interval and every restart does: nothing new.
    again = await run_schedule(db.sessions)
    assert again.checks.events == 0
    assert sum(again.checks.found.values()) == 0  # recorded findings are not even re-read
    assert len(await reported(db)) == 4

    # The next day, each item is reported again, with the day's figures.
    clock.advance(timedelta(days=1))
    assert (await run_schedule(db.sessions)).checks.events == 4
    latest = {e.type: e for e in await reported(db)}
    assert latest["OVERDUE"].payload["daysLeft"] == -3
    assert latest["DUE_SOON"].payload["daysLeft"] == 2
    assert latest["EVIDENCE_EXPIRING"].payload["daysLeft"] == 4
    async with db.sessions() as session:
        keys = (await session.execute(select(ScheduledCheck.kind, ScheduledCheck.day))).all()
    assert Counter(day for _, day in keys) == {TODAY: 4, TODAY + timedelta(days=1): 4}


async def test_an_item_is_reported_while_its_rule_holds(db, uow, owner, world: World) -> None:
    ids = world.actions
    await run_schedule(db.sessions)
    async with uow() as u:
        # T2 done, N1@G1 retested today, N1@G2's deadline moved beyond the week.
        await change_action(
            u,
            owner,
            ids["T2"],
            {
                "implementation_status": ImplementationStatus.IMPLEMENTED,
                "implementation_date": TODAY,
            },
        )
        await change_action(
            u, owner, ids["N1@G1"], {"test_status": TestStatus.PASSED, "test_date": TODAY}
        )
        await change_action(u, owner, ids["N1@G2"], {"due_date": TODAY + timedelta(days=20)})
    clock.advance(timedelta(days=1))
    run = await run_schedule(db.sessions)
    assert run.checks.reported == {
        "DUE_SOON": 0,
        "OVERDUE": 0,
        "RETEST_DUE": 0,
        "EVIDENCE_EXPIRING": 1,
    }
    # Reported up to its review-by day; after it, evidence is expired (flagged), not reported.
    clock.advance(timedelta(days=4))
    assert (await run_schedule(db.sessions)).checks.reported["EVIDENCE_EXPIRING"] == 1
    clock.advance(timedelta(days=1))
    assert (await run_schedule(db.sessions)).checks.reported["EVIDENCE_EXPIRING"] == 0


async def test_archived_assessments_are_left_out(db, uow, owner, world: World) -> None:
    a = world.example
    async with uow() as u:
        await archive_assessment(u, owner, a.a3.id)
    run = await run_schedule(db.sessions)
    # N1@G2 lives in A3 only; T1's evidence is reported for its live assessments.
    assert run.checks.reported["DUE_SOON"] == 0
    (expiring,) = await reported(db, ["EVIDENCE_EXPIRING"])
    assert expiring.payload["assessmentIds"] == [a.a1.id]


def test_the_scheduler_runs_each_interval_and_after_midnight() -> None:
    assert seconds_until_next_run(3600, T0) == 3600
    late = datetime(2030, 5, 6, 23, 59, tzinfo=UTC)
    assert seconds_until_next_run(3600, late) == 65  # the new day, and 5 s of slack
    assert seconds_until_next_run(30, late) == 30


# -- many workers ---------------------------------------------------------------------------


async def many_items(uow, owner: Principal, count: int, evidence_every: int) -> int:  # type: ignore[no-untyped-def]
    """An assessment of ``count`` overdue actions, every ``evidence_every``-th with evidence
    to review within the week; returns the number of items (actions and evidence)."""
    actions = tuple(
        ActionSpec(
            f"bulk:a{i}",
            f"Bulk action {i}",
            ImplementationType.OPERATIONAL,
            Enforcement.MANDATORY,
            Purpose.PREVENTATIVE,
        )
        for i in range(count)
    )
    spec = TemplateSpec(
        key="bulk",
        title="BULK",
        regulation="Bulk regulation",
        product="Bulk",
        controls=tuple(
            ControlSpec(
                f"B-{start}",
                "Family",
                "Some",
                action_keys=tuple(s.key for s in actions[start : start + 10]),
            )
            for start in range(0, count, 10)
        ),
        actions=actions,
    )
    async with uow() as u:
        imported = await import_template(u, spec, source="test")
        assessment = await create_assessment(
            u, owner, NewAssessment(imported.template.id, "Bulk", new_group_name="Bulk group")
        )
        rows = list(
            await u.session.scalars(
                select(ImprovementAction.id)
                .where(ImprovementAction.group_id == assessment.group_id)
                .order_by(ImprovementAction.id)
            )
        )
        assert len(rows) == count
        items = 0
        for index, action_id in enumerate(rows):
            await change_action(u, owner, action_id, {"due_date": TODAY - timedelta(days=1)})
            items += 1
            if index % evidence_every == 0:
                await add_evidence_link(
                    u,
                    owner,
                    action_id,
                    f"Review {index}",
                    f"https://evidence.test/{index}",
                    review_by=TODAY + timedelta(days=3),
                )
                items += 1
    return items


@pytest.fixture
async def workers(db: Database) -> AsyncIterator[Any]:
    """Separate engines on the test's database, each standing for one worker process."""
    engines = []

    def start() -> Any:
        engine = create_engine(db.url)
        engines.append(engine)
        return session_factory(engine)

    yield start
    for engine in engines:
        await engine.dispose()


async def test_two_workers_and_a_restart_report_each_item_once_a_day(
    db, uow, owner, workers
) -> None:
    items = await many_items(uow, owner, count=120, evidence_every=4)
    async with uow() as u:
        await u.session.execute(Event.__table__.update().values(processed_at=clock.now()))
    from cmgraph.domain import alert_policies as policies

    async with uow() as u:
        policy = await policies.create_alert_policy(
            u,
            owner,
            "Late work",
            policies.PolicySettings(
                conditions=(
                    policies.ConditionSpec(EventType.OVERDUE),
                    policies.ConditionSpec(EventType.EVIDENCE_EXPIRING),
                )
            ),
        )
    first, second = workers(), workers()
    for _ in range(2):
        together = await asyncio.gather(run_schedule(first), run_schedule(second))
        restarted = await run_schedule(workers())  # a new process on the same database
        counts = [r.checks.events for r in (*together, restarted)]
        assert sum(counts) == items, counts
        assert counts[2] == 0
        # Two evaluators at once, as two workers run them.
        await asyncio.gather(evaluate_pending(first), evaluate_pending(second))
        clock.advance(timedelta(days=1))

    async with db.sessions() as session:
        per_key = Counter(
            (kind, subject_id, day)
            for kind, subject_id, day in (
                await session.execute(
                    select(ScheduledCheck.kind, ScheduledCheck.subject_id, ScheduledCheck.day)
                )
            ).all()
        )
        events = list(await session.scalars(select(Event).where(Event.type.in_(KINDS))))
        linked = Counter(await session.scalars(select(ScheduledCheck.event_id)))
        matches = Counter(
            await session.scalars(
                select(AlertMatch.event_id).where(AlertMatch.policy_id == policy.id)
            )
        )
        alerts = await session.scalar(
            select(func.count(func.distinct(AlertMatch.alert_id))).where(
                AlertMatch.policy_id == policy.id
            )
        )
    assert len(per_key) == 2 * items and set(per_key.values()) == {1}
    assert len(events) == 2 * items
    assert set(linked) == {e.id for e in events} and set(linked.values()) == {1}
    assert set(matches) == {e.id for e in events} and set(matches.values()) == {1}
    assert alerts == 2  # one a day: each day's findings join that day's alert


# -- the pipeline ---------------------------------------------------------------------------


async def test_policies_alerts_and_mail_treat_findings_like_other_events(
    db, uow, owner, api, world: World, token_for
) -> None:
    a = world.example
    owner_token = await token_for("boss@example.test", OrgRole.OWNER)
    contributor = await token_for("worker@example.test", OrgRole.CONTRIBUTOR)
    async with db.sessions() as session:
        worker_id = await session.scalar(select(User.id).where(User.email == "worker@example.test"))
    async with uow() as u:  # the set-up's own events are not this test's
        await u.session.execute(Event.__table__.update().values(processed_at=clock.now()))

    async def create(**fields: Any) -> dict[str, Any]:
        data = await api.query(CREATE_POLICY, {"input": fields}, token=contributor)
        payload = data["createAlertPolicy"]
        assert payload["userErrors"] == [], payload
        return payload["alertPolicy"]

    every_kind = [{"type": kind} for kind in KINDS]
    created = await create(
        name="Deadlines in G1",
        conditions=every_kind,
        scope={"groupIds": [to_base64("Group", a.a1.group_id)]},
        severity="HIGH",
        recipientIds=[to_base64("User", worker_id)],
    )
    assert [c["type"] for c in created["conditions"]] == KINDS
    assert created["dailyDigest"] is False
    await create(
        name="A3 due soon",
        conditions=[{"type": "DUE_SOON"}],
        scope={"assessmentIds": [to_base64("Assessment", a.a3.id)]},
    )
    await create(
        name="Access evidence",
        conditions=[{"type": "EVIDENCE_EXPIRING"}],
        scope={"categories": ["Control access"]},  # T1's category
    )
    await create(name="Devices", conditions=every_kind, scope={"categories": ["Manage devices"]})

    await run_schedule(db.sessions)
    await evaluate_pending(db.sessions)

    nodes = (await api.query(ALERTS, {}, token=owner_token))["alerts"]["nodes"]
    by_policy = {n["policyName"]: n for n in nodes}
    assert set(by_policy) == {"Deadlines in G1", "A3 due soon", "Access evidence"}
    g1 = by_policy["Deadlines in G1"]
    # T2 (A2) overdue, N1@G1 due for retest, T1's evidence (A1, A3): all touch G1;
    # N1@G2 (A3, in G2) does not.
    assert sorted(e["type"] for e in g1["events"]) == [
        "EVIDENCE_EXPIRING",
        "OVERDUE",
        "RETEST_DUE",
    ]
    assert (g1["severity"], g1["kind"]) == ("HIGH", "MULTI_CONDITION")
    overdue = next(e for e in g1["events"] if e["type"] == "OVERDUE")
    assert overdue["user"] is None and overdue["action"]["key"] == "we:t2"
    assert [s["name"] for s in overdue["assessments"]] == ["A2"]
    assert overdue["details"]["dueDate"] == (TODAY - timedelta(days=2)).isoformat()
    expiring = next(e for e in g1["events"] if e["type"] == "EVIDENCE_EXPIRING")
    assert expiring["details"]["evidenceId"] == to_base64("Evidence", world.evidence["Pen test"])
    assert [e["type"] for e in by_policy["A3 due soon"]["events"]] == ["DUE_SOON"]
    assert [e["type"] for e in by_policy["Access evidence"]["events"]] == ["EVIDENCE_EXPIRING"]
    filtered = await api.query(ALERTS, {"filter": {"eventTypes": ["OVERDUE"]}}, token=owner_token)
    assert [n["policyName"] for n in filtered["alerts"]["nodes"]] == ["Deadlines in G1"]

    outbox = Outbox()
    settings = Settings.from_env({}, public_url="https://cm.example.test")
    while await send_due(db.sessions, outbox, settings):
        pass
    to_worker = [m for m, to in outbox.sent if to == ["worker@example.test"]]
    deadlines = [m for m in to_worker if "Deadlines in G1" in str(m["Subject"])]
    assert len(deadlines) == 1
    text = plain(deadlines[0])
    assert f"due {TODAY - timedelta(days=2)}, overdue by 2 days" in text
    assert "passed on 2026-01-15; retest due on 2026-02-14" in text
    assert f"evidence “Pen test” to review by {TODAY + timedelta(days=5)}" in text
    assert "by the system" in text

    # The next day's run opens new alerts (the aggregation window is long gone).
    clock.advance(timedelta(days=1))
    await run_schedule(db.sessions)
    await evaluate_pending(db.sessions)
    nodes = (await api.query(ALERTS, {}, token=owner_token))["alerts"]["nodes"]
    assert Counter(n["policyName"] for n in nodes)["Deadlines in G1"] == 2


async def test_background_work_runs_the_checks_and_subscribers_hear_of_the_alerts(
    db, uow, owner, tmp_path
) -> None:
    """With background work on, the scheduler runs at start; a finding made later (here by
    another worker's run) reaches ``alertChanged`` subscribers like any other alert."""
    world = await dated_world(uow, owner)
    async with uow() as u:
        await u.session.execute(Event.__table__.update().values(processed_at=clock.now()))
        user = await u.session.get(User, owner.user_id)
        assert user is not None
        token = (await accounts.create_token(u, user, "ws")).secret
        from cmgraph.domain import alert_policies as policies

        await policies.create_alert_policy(
            u,
            owner,
            "Overdue work",
            policies.PolicySettings(conditions=(policies.ConditionSpec(EventType.OVERDUE),)),
        )

    # The scheduler loop of background work, on its own: it runs the checks when it starts.
    work = BackgroundWork(Settings.from_env({}, data_dir=tmp_path), db.sessions, transport=Outbox())
    await work.start()
    try:
        await wait_until(lambda: work.scheduled_runs >= 1, "the first scheduled run")
    finally:
        await work.stop()
    assert [e.action_id for e in await reported(db, ["OVERDUE"])] == [world.actions["T2"]]

    # A server with background work: its evaluator and hub take a new finding from there.
    settings = Settings.from_env({}, data_dir=tmp_path, background_work=True)
    app = create_app(settings, db.engine)
    async with uvicorn_server(app) as server, WsClient.signed_in(server, token) as ws:
        await ws.subscribe(ALERT_CHANGED)
        await subscribed(hub_of(app), 1)
        # From here the clock runs on (from the same day): the hub follows alerts by their
        # update time, which a stopped clock would give two batches of the evaluator alike.
        clock.run_from(clock.now() + timedelta(seconds=1))
        async with uow() as u:
            await change_action(
                u, owner, world.actions["N1@G2"], {"due_date": TODAY - timedelta(days=1)}
            )
        others = session_factory(create_engine(db.url))
        try:
            await run_schedule(others)
        finally:
            await others.kw["bind"].dispose()
        # Reported once, by this run or by the server's own first one if it came later.
        overdue = [e.action_id for e in await reported(db, ["OVERDUE"])]
        assert Counter(overdue) == {world.actions["T2"]: 1, world.actions["N1@G2"]: 1}
        # The alert opens (T2's finding, if the first worker left it unevaluated) and then
        # holds N1's, within its aggregation window (a minute).
        while True:
            message = (await ws.next_data())["alertChanged"]
            if "we:n1" in {e["action"]["key"] for e in message["events"]}:
                break
        assert message["policyName"] == "Overdue work"
        assert {e["type"] for e in message["events"]} == {"OVERDUE"}


async def test_policy_conditions_for_dates_take_no_narrowing(api, token_for) -> None:
    token = await token_for("c@example.test", OrgRole.CONTRIBUTOR)
    for condition, field in (
        ({"type": "OVERDUE", "toStatuses": ["PLANNED"]}, "toStatuses"),
        ({"type": "DUE_SOON", "direction": "DOWN"}, "direction"),
        ({"type": "EVIDENCE_EXPIRING", "minPoints": 3}, "minPoints"),
    ):
        data = await api.query(
            CREATE_POLICY,
            {"input": {"name": "Dates", "conditions": [condition]}},
            token=token,
        )
        payload = data["createAlertPolicy"]
        assert payload["alertPolicy"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            (["input", "conditions", "0", field], "INVALID")
        ]
