"""The scheduled checks (DOMAIN.md section 15): date-driven events, once per item and day.

Each run looks at one day (``clock.today()`` by default) and finds, in live (not archived)
assessments, the actions due soon, overdue and due for retest, and the evidence whose
review-by date is near, by the rules of ``domain.calendar``. For each finding it inserts a
``scheduled_check`` row keyed (kind, subject, day) with ``INSERT ... ON CONFLICT DO
NOTHING``; only a row this run inserted appends its event (DUE_SOON, OVERDUE, RETEST_DUE,
EVIDENCE_EXPIRING), in the same transaction. So however many workers run the check at
once, and however often one restarts, an item is reported at most once a day:

- PostgreSQL: a second transaction inserting the same key waits for the first and then
  inserts nothing; candidates are inserted in one order (kind, subject), so two runs never
  wait for each other in a cycle.
- SQLite: a unit of work holds the write lock from its start, so runs take turns.

Events enter the ordinary pipeline: the evaluator matches them against policies (scope as
for any action event, through ``payload["assessmentIds"]``), alerts aggregate and mail goes
out as usual. An item stays reported while the rule holds: an overdue action gives one
OVERDUE event a day until its work is closed.

Evidence is reported from ``due_soon_days`` before its review-by date up to that day;
afterwards it is expired (flagged wherever evidence is listed) and no longer reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import calendar, clock
from cmgraph.domain.enums import EventType
from cmgraph.domain.models import (
    Assessment,
    Control,
    ControlAction,
    Event,
    Evidence,
    ImprovementAction,
    ScheduledCheck,
    utcnow,
)
from cmgraph.domain.organisation import organisation

CHECKED_KINDS = (
    EventType.DUE_SOON,
    EventType.OVERDUE,
    EventType.RETEST_DUE,
    EventType.EVIDENCE_EXPIRING,
)
Ts = TypeVarTuple("Ts")
INSERT_CHUNK = 500  # rows per INSERT statement, well under every backend's parameter limit


@dataclass(frozen=True)
class Finding:
    """One item a rule holds for today: its subject, action, live assessments, details."""

    kind: EventType
    subject_id: int
    action_id: int
    assessment_ids: tuple[int, ...]
    details: Mapping[str, Any]


@dataclass
class CheckRun:
    """What one run saw: findings not yet recorded for the day, and the events it appended."""

    day: date
    found: dict[str, int] = field(default_factory=dict)
    reported: dict[str, int] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return sum(self.reported.values())


async def run_checks(uow: UnitOfWork, today: date | None = None) -> CheckRun:
    """Record today's findings and append an event for each one not recorded before."""
    day = today or clock.today()
    within = (await organisation(uow)).due_soon_days
    run = CheckRun(day)
    findings: list[Finding] = []
    for kind in CHECKED_KINDS:
        found = await _findings(uow, kind, day, within)
        run.found[kind.value] = len(found)
        findings += found
    new = await _record(uow, findings, day)
    now = utcnow()
    events = [
        (
            check_id,
            Event(
                type=finding.kind.value,
                action_id=finding.action_id,
                actor_id=None,
                payload={
                    "assessmentIds": list(finding.assessment_ids),
                    "day": day.isoformat(),
                    **finding.details,
                },
                created_at=now,
            ),
        )
        for check_id, finding in new
    ]
    uow.session.add_all(event for _, event in events)
    await uow.session.flush()
    if events:
        await uow.session.execute(
            update(ScheduledCheck),
            [{"id": check_id, "event_id": event.id} for check_id, event in events],
        )
    for kind in CHECKED_KINDS:
        run.reported[kind.value] = sum(1 for _, f in new if f.kind is kind)
    return run


def _not_checked(kind: EventType, subject: Any, day: date) -> ColumnElement[bool]:
    """Not recorded yet for the day: a restart's run re-reads nothing it already reported."""
    return ~exists().where(
        ScheduledCheck.kind == kind.value,
        ScheduledCheck.subject_id == subject,
        ScheduledCheck.day == day,
    )


def _live(statement: Select[*Ts]) -> Select[*Ts]:
    """Joined to the live assessments whose controls hold the action (one row each)."""
    return (
        statement.join(ControlAction, ControlAction.action_id == ImprovementAction.id)
        .join(Control, Control.id == ControlAction.control_id)
        .join(Assessment, Assessment.id == Control.assessment_id)
        .where(Assessment.archived_at.is_(None))
        .distinct()
    )


async def _findings(uow: UnitOfWork, kind: EventType, day: date, within: int) -> list[Finding]:
    if kind is EventType.EVIDENCE_EXPIRING:
        return await _expiring_evidence(uow, day, within)
    clause = {
        EventType.DUE_SOON: lambda: calendar.due_soon_clause(
            day, calendar.due_soon_until(day, within)
        ),
        EventType.OVERDUE: lambda: calendar.overdue_clause(day),
        EventType.RETEST_DUE: lambda: calendar.retest_due_clause(day),
    }[kind]()
    rows = await uow.session.execute(
        _live(
            select(
                ImprovementAction.id,
                ImprovementAction.due_date,
                ImprovementAction.test_date,
                ImprovementAction.retest_due_on,
                Assessment.id,
            )
        ).where(clause, _not_checked(kind, ImprovementAction.id, day))
    )
    reach: dict[int, list[int]] = defaultdict(list)
    details: dict[int, dict[str, Any]] = {}
    for action_id, due_date, test_date, retest_due_on, assessment_id in rows.all():
        reach[action_id].append(assessment_id)
        if kind is EventType.RETEST_DUE:
            details[action_id] = {
                "testDate": _iso(test_date),
                "retestDueOn": _iso(retest_due_on),
                "daysLate": (day - retest_due_on).days if retest_due_on else 0,
            }
        else:
            details[action_id] = {
                "dueDate": _iso(due_date),
                # Negative when overdue: days left until the due date.
                "daysLeft": (due_date - day).days if due_date else 0,
            }
    return [
        Finding(
            kind, action_id, action_id, tuple(sorted(set(reach[action_id]))), details[action_id]
        )
        for action_id in sorted(reach)
    ]


async def _expiring_evidence(uow: UnitOfWork, day: date, within: int) -> list[Finding]:
    rows = await uow.session.execute(
        _live(
            select(
                Evidence.id,
                Evidence.action_id,
                Evidence.name,
                Evidence.review_by,
                Assessment.id,
            ).join(ImprovementAction, ImprovementAction.id == Evidence.action_id)
        ).where(
            calendar.evidence_expiring_clause(day, within),
            _not_checked(EventType.EVIDENCE_EXPIRING, Evidence.id, day),
        )
    )
    reach: dict[int, list[int]] = defaultdict(list)
    found: dict[int, tuple[int, dict[str, Any]]] = {}
    for evidence_id, action_id, name, review_by, assessment_id in rows.all():
        reach[evidence_id].append(assessment_id)
        found[evidence_id] = (
            action_id,
            {
                "evidenceId": evidence_id,
                "name": name,
                "reviewBy": _iso(review_by),
                "daysLeft": (review_by - day).days if review_by else 0,
            },
        )
    return [
        Finding(
            EventType.EVIDENCE_EXPIRING,
            evidence_id,
            found[evidence_id][0],
            tuple(sorted(set(reach[evidence_id]))),
            found[evidence_id][1],
        )
        for evidence_id in sorted(found)
    ]


async def _record(
    uow: UnitOfWork, findings: Sequence[Finding], day: date
) -> list[tuple[int, Finding]]:
    """Insert the findings' check rows; return (row id, finding) for those that are new."""
    session = uow.session
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    by_key = {(f.kind.value, f.subject_id): f for f in findings}
    now = utcnow()
    new: list[tuple[int, Finding]] = []
    keys = sorted(by_key)
    for start in range(0, len(keys), INSERT_CHUNK):
        chunk = keys[start : start + INSERT_CHUNK]
        inserted = await session.execute(
            dialect.insert(ScheduledCheck)
            .values(
                [
                    {"kind": kind, "subject_id": subject, "day": day, "created_at": now}
                    for kind, subject in chunk
                ]
            )
            .on_conflict_do_nothing(index_elements=["kind", "subject_id", "day"])
            .returning(ScheduledCheck.id, ScheduledCheck.kind, ScheduledCheck.subject_id)
        )
        new += [(check_id, by_key[(kind, subject)]) for check_id, kind, subject in inserted.all()]
    return sorted(new, key=lambda pair: pair[0])


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
