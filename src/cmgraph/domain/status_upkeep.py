"""Keeping stored control and assessment statuses current (DOMAIN.md section 7).

Each control stores its actions by standing and each assessment its controls by status
(``scoring.Tally``). An action's change of standing moves the counts of the controls that
hold it by a delta; a control whose status changes with it moves its assessment's counts.
The deltas commute: two edits that meet on a control each add their own, and the control's
row (updated, so locked, before it is read back) says what its status was and is. Reading a
status then costs one row whatever the number of actions or assessments.

``recount`` is the full count from the rows: used when an assessment is created or its
controls and mappings change, and by tests as the reference the deltas must agree with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, select, update

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.enums import ImplementationStatus, TestStatus
from cmgraph.domain.models import Assessment, Control, ControlAction, ImprovementAction
from cmgraph.domain.scoring import (
    NO_TALLY,
    Tally,
    action_tally,
    control_status_of,
    control_tally,
    tally_controls,
)

FIELDS = ("total", "failed", "out_of_scope", "passed", "untested")
CONTROL_COLUMNS = tuple(getattr(Control, f"actions_{name}") for name in FIELDS)
ASSESSMENT_COLUMNS = tuple(getattr(Assessment, f"controls_{name}") for name in FIELDS)
# The deltas go through Core statements: counts are read from rows, not from the session's
# objects, so there is nothing there to keep in step.
CONTROLS = cast(Table, Control.__table__)
ASSESSMENTS = cast(Table, Assessment.__table__)

State = tuple[ImplementationStatus, TestStatus]


def stored_tally(row: Any, prefix: str) -> Tally:
    """The counts a control (``actions_``) or an assessment (``controls_``) row stores."""
    return Tally(*(getattr(row, prefix + name) for name in FIELDS))


def _moved(columns: tuple[Any, ...], delta: Tally) -> dict[Any, Any]:
    return {
        column: column + amount
        for column, amount in zip(columns, delta.counts, strict=True)
        if amount
    }


async def move_action(uow: UnitOfWork, action_id: int, before: State, after: State) -> None:
    """An action's standing changed from ``before`` to ``after``: move every control that
    holds it (archived assessments' too: a status follows its actions) and the assessments
    whose controls changed status."""
    delta = action_tally(*after) - action_tally(*before)
    if delta == NO_TALLY:
        return
    held = select(ControlAction.control_id).where(ControlAction.action_id == action_id)
    rows = await uow.session.execute(
        update(CONTROLS)
        .where(CONTROLS.c.id.in_(held))
        .values(_moved(CONTROL_COLUMNS, delta))
        .returning(CONTROLS.c.assessment_id, *CONTROL_COLUMNS)
    )
    moves: dict[int, Tally] = defaultdict(Tally)
    for assessment_id, *counts in rows.all():
        now = Tally(*counts)
        was, is_ = control_status_of(now - delta), control_status_of(now)
        if was is not is_:
            moves[assessment_id] += control_tally(is_) - control_tally(was)
    await _move_assessments(uow, moves)


async def _move_assessments(uow: UnitOfWork, moves: dict[int, Tally]) -> None:
    """One statement per distinct move (usually one: the same control in every assessment)."""
    alike: dict[Tally, list[int]] = defaultdict(list)
    for assessment_id, move in moves.items():
        if move != NO_TALLY:
            alike[move].append(assessment_id)
    for move, ids in alike.items():
        await uow.session.execute(
            update(ASSESSMENTS)
            .where(ASSESSMENTS.c.id.in_(sorted(ids)))
            .values(_moved(ASSESSMENT_COLUMNS, move))
        )


async def recount(uow: UnitOfWork, assessment_ids: Iterable[int]) -> None:
    """Count every control of the assessments from its actions and store the counts, the
    assessments' controls by status with them."""
    ids = sorted(set(assessment_ids))
    session = uow.session
    await session.flush()
    rows = await session.execute(
        select(
            Control.id,
            Control.assessment_id,
            ImprovementAction.implementation_status,
            ImprovementAction.test_status,
        )
        .outerjoin(ControlAction, ControlAction.control_id == Control.id)
        .outerjoin(ImprovementAction, ImprovementAction.id == ControlAction.action_id)
        .where(Control.assessment_id.in_(ids))
    )
    links = rows.all()
    owners = {control_id: assessment_id for control_id, assessment_id, _, _ in links}
    controls = tally_controls((control_id, i, t) for control_id, _, i, t in links)
    assessments = dict.fromkeys(ids, NO_TALLY)
    for control_id, counted in controls.items():
        assessments[owners[control_id]] += control_tally(control_status_of(counted))
    if controls:
        await session.execute(
            update(Control),
            [
                {"id": control_id, **_values("actions_", counted)}
                for control_id, counted in controls.items()
            ],
        )
    for assessment_id, counted in assessments.items():
        # Through the object: a caller may hold it and answer with its status.
        assessment = await session.get(Assessment, assessment_id)
        if assessment is not None:
            for name, count in _values("controls_", counted).items():
                setattr(assessment, name, count)
    await session.flush()


def _values(prefix: str, counted: Tally) -> dict[str, int]:
    return {prefix + name: count for name, count in zip(FIELDS, counted.counts, strict=True)}
