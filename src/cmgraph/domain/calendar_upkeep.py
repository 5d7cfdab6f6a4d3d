"""Keeping actions in line with the calendar as days pass (DOMAIN.md section 15).

Edits keep ``retest_due_on`` and ``retest_lapsed`` current themselves (``workflow``); what
changes with the day alone, or with the organisation's choice, is brought in line here:

- ``lapse_retests``: under ``retest_loses_points``, a passed action whose retest day has come
  loses its points (earned 0, possible unchanged) until it is retested; without it, or once
  retested, they come back. It reconciles both ways, so the scheduler calls it once a day
  and the settings mutation calls it when the choice changes.

Each lapse, or its end, is a change like any other: a ``retest_lapsed`` history row, a new
``version`` and, through ``workflow.record_score_change``, the score upkeep and a
SCORE_CHANGE event. The server makes it, not a person: source ``AUTOMATION``, and the actor
is the owner who changed the setting, or nobody for the daily run. Actions that belong only
to archived assessments stay as they were frozen.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import calendar
from cmgraph.domain.enums import ChangeSource, TestStatus
from cmgraph.domain.models import (
    Assessment,
    Control,
    ControlAction,
    HistoryEntry,
    ImprovementAction,
    Organisation,
    utcnow,
)
from cmgraph.domain.permissions import Principal
from cmgraph.domain.scoring import Score, refresh_score
from cmgraph.domain.workflow import history_text, record_score_change


def _live() -> ColumnElement[bool]:
    return ImprovementAction.id.in_(
        select(ControlAction.action_id)
        .join(Control, Control.id == ControlAction.control_id)
        .join(Assessment, Assessment.id == Control.assessment_id)
        .where(Assessment.archived_at.is_(None))
    )


async def lapse_retests(uow: UnitOfWork, today: date, *, actor: Principal | None = None) -> int:
    """Lapse (or restore) the points of actions as their retest day and the setting say.

    Returns how many actions changed. Safe to run any number of times a day, from any
    number of workers: an action already in line is left alone.
    """
    loses = bool(
        await uow.session.scalar(
            select(Organisation.retest_loses_points).order_by(Organisation.id).limit(1)
        )
    )
    lapsed = ImprovementAction.retest_lapsed.is_(True)
    if loses:
        due = and_(
            ImprovementAction.test_status == TestStatus.PASSED, calendar.retest_due_clause(today)
        )
        not_due = or_(
            ImprovementAction.test_status != TestStatus.PASSED,
            ImprovementAction.retest_due_on.is_(None),
            ~calendar.retest_due_clause(today),
        )
        wrong = or_(and_(ImprovementAction.retest_lapsed.is_(False), due), and_(lapsed, not_due))
    else:
        wrong = lapsed
    lock = uow.session.get_bind().dialect.name != "sqlite"
    statement = select(ImprovementAction).where(wrong, _live()).order_by(ImprovementAction.id)
    if lock:
        statement = statement.with_for_update()
    actions = list(await uow.session.scalars(statement))
    now = utcnow()
    actor_id = actor.user_id if actor is not None else None
    for action in actions:
        old = Score(action.earned, action.possible)
        now_lapsed = calendar.retest_lapsed(action.test_status, action.retest_due_on, today, loses)
        uow.session.add(
            HistoryEntry(
                action_id=action.id,
                field="retest_lapsed",
                old_value=history_text(action.retest_lapsed),
                new_value=history_text(now_lapsed),
                source=ChangeSource.AUTOMATION,
                actor_id=actor_id,
                created_at=now,
            )
        )
        action.retest_lapsed = now_lapsed
        new = refresh_score(action)
        action.version += 1
        action.updated_at = now
        await record_score_change(
            uow,
            actor_id,
            action.id,
            await _live_assessment_ids(uow, action.id),
            old,
            new,
            source=ChangeSource.AUTOMATION,
            now=now,
        )
    await uow.session.flush()
    return len(actions)


async def _live_assessment_ids(uow: UnitOfWork, action_id: int) -> list[int]:
    rows = await uow.session.scalars(
        select(Assessment.id)
        .join(Control, Control.assessment_id == Assessment.id)
        .join(ControlAction, ControlAction.control_id == Control.id)
        .where(ControlAction.action_id == action_id, Assessment.archived_at.is_(None))
        .distinct()
    )
    return sorted(rows)
