"""Keeping actions in line with the calendar as days pass (DOMAIN.md section 15).

Edits keep ``retest_due_on`` and ``retest_lapsed`` current themselves (``workflow``); what
changes with the day alone, or with the organisation's choice, is brought in line here:

- ``lapse_retests``: under ``retest_loses_points``, a passed action whose retest day has come
  loses its points (earned 0, possible unchanged) until it is retested; without it, or once
  retested, they come back. It reconciles both ways, so the scheduler calls it once a day
  and the settings mutation calls it when the choice changes.

Each lapse, or its end, is a change like any other (``workflow.change_lapse``): a
``retest_lapsed`` history row, a new ``version``, and the score upkeep with a SCORE_CHANGE
event. The server makes it, not a person: source ``AUTOMATION``, and the actor is the owner
who changed the setting, or nobody for the daily run. Actions that belong only to archived
assessments stay as they were frozen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import calendar
from cmgraph.domain.models import (
    Assessment,
    Control,
    ControlAction,
    ImprovementAction,
    utcnow,
)
from cmgraph.domain.organisation import organisation
from cmgraph.domain.permissions import Principal
from cmgraph.domain.workflow import change_lapse

ID_CHUNK = 500  # ids per IN list, well under every backend's parameter limit


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
    loses = (await organisation(uow)).retest_loses_points
    should = calendar.retest_lapsed_clause(today, loses)
    lapsed = ImprovementAction.retest_lapsed.is_(True)
    wrong = or_(and_(ImprovementAction.retest_lapsed.is_(False), should), and_(lapsed, ~should))
    statement = select(ImprovementAction).where(wrong, _live()).order_by(ImprovementAction.id)
    if uow.session.get_bind().dialect.name != "sqlite":
        statement = statement.with_for_update()
    actions = list(await uow.session.scalars(statement))
    holding = await _live_assessment_ids(uow, [a.id for a in actions])
    now = utcnow()
    actor_id = actor.user_id if actor is not None else None
    for action in actions:
        await change_lapse(
            uow,
            action,
            calendar.retest_lapsed(action.retest_due_on, today, loses),
            holding[action.id],
            actor_id=actor_id,
            now=now,
        )
    await uow.session.flush()
    return len(actions)


async def _live_assessment_ids(uow: UnitOfWork, action_ids: Sequence[int]) -> dict[int, list[int]]:
    """The live assessments holding each action, a statement per ``ID_CHUNK`` actions."""
    result: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(action_ids), ID_CHUNK):
        rows = await uow.session.execute(
            select(ControlAction.action_id, Assessment.id)
            .join(Control, Control.id == ControlAction.control_id)
            .join(Assessment, Assessment.id == Control.assessment_id)
            .where(
                ControlAction.action_id.in_(action_ids[start : start + ID_CHUNK]),
                Assessment.archived_at.is_(None),
            )
            .distinct()
            .order_by(ControlAction.action_id, Assessment.id)
        )
        for action_id, assessment_id in rows.all():
            result[action_id].append(assessment_id)
    return result
