"""Keeping stored assessment scores current (DOMAIN.md section 7).

An action's score change moves each live assessment that contains it by the same delta, so an
edit costs the same however many assessments or actions exist. ``recompute`` is the full
count from the rows: used when an assessment is created or its controls change, and by tests
as the reference the deltas must agree with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.models import Assessment, Control, ControlAction, ImprovementAction
from cmgraph.domain.scoring import ZERO, Score


async def recompute(uow: UnitOfWork, assessment_ids: Iterable[int]) -> dict[int, Score]:
    """Each distinct instance reachable from an assessment's controls, counted once."""
    ids = list(assessment_ids)
    distinct = (
        select(
            Control.assessment_id,
            ImprovementAction.id,
            ImprovementAction.earned,
            ImprovementAction.possible,
        )
        .join(ControlAction, ControlAction.control_id == Control.id)
        .join(ImprovementAction, ImprovementAction.id == ControlAction.action_id)
        .where(Control.assessment_id.in_(ids))
        .distinct()
        .subquery()
    )
    rows = await uow.session.execute(
        select(
            distinct.c.assessment_id, func.sum(distinct.c.earned), func.sum(distinct.c.possible)
        ).group_by(distinct.c.assessment_id)
    )
    found = {a: Score(float(e), int(p)) for a, e, p in rows.all()}
    return {i: found.get(i, ZERO) for i in ids}


async def store_recomputed(uow: UnitOfWork, assessment: Assessment) -> Score:
    score = (await recompute(uow, [assessment.id]))[assessment.id]
    assessment.earned, assessment.possible = score.earned, score.possible
    await uow.session.flush()
    return score


async def apply_delta(
    uow: UnitOfWork, assessment_ids: Iterable[int], before: Score, after: Score
) -> list[dict[str, Any]]:
    """Move live assessments by an action's score change; return before/after per assessment."""
    ids = sorted(assessment_ids)
    earned, possible = after.earned - before.earned, after.possible - before.possible
    if not ids or (earned == 0 and possible == 0):
        return []
    live = Assessment.id.in_(ids) & Assessment.archived_at.is_(None)
    rows = await uow.session.execute(
        update(Assessment)
        .where(live)
        .values(earned=Assessment.earned + earned, possible=Assessment.possible + possible)
        .returning(Assessment.id, Assessment.earned, Assessment.possible)
        .execution_options(synchronize_session="fetch")
    )
    return [
        {
            "assessmentId": assessment_id,
            "before": {"earned": new_earned - earned, "possible": new_possible - possible},
            "after": {"earned": new_earned, "possible": new_possible},
            "delta": earned,
        }
        for assessment_id, new_earned, new_possible in sorted(rows.all())
    ]
