"""Which controls a list shows: families, keys, text, and what their actions say.

Each field takes a list and matches any of its values (OR); the fields that are set must all
match (AND). A control matches an assignee when any of its actions is assigned to that
person, and a test status when any of its actions has it. Its status is the derived
control status (DOMAIN.md section 7), computed in SQL by ``control_status_sql``, the same
rule as ``scoring.control_status`` in the same order of precedence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select

from cmgraph.domain import text
from cmgraph.domain.action_filter import contains
from cmgraph.domain.enums import (
    FAILED_TEST_STATUSES,
    ControlStatus,
    ImplementationStatus,
    TestStatus,
)
from cmgraph.domain.models import Control, ControlAction, ImprovementAction
from cmgraph.domain.scoring import NOT_TESTED_STATUSES


@dataclass(frozen=True)
class ControlFilter:
    """Every field narrows the list; ``None`` leaves it open."""

    assessment_ids: Sequence[int] | None = None
    families: Sequence[str] | None = None
    keys: Sequence[str] | None = None
    statuses: Sequence[ControlStatus] | None = None
    test_statuses: Sequence[TestStatus] | None = None
    assignee_ids: Sequence[int] | None = None
    search: str | None = None

    def __post_init__(self) -> None:
        """Text values under the domain's rules (``text``), whoever builds the filter."""
        for name in ("families", "keys"):
            values = text.clean_filter_values(getattr(self, name), field=name)
            object.__setattr__(self, name, values)
        object.__setattr__(self, "search", text.clean_search(self.search))


def _count(condition: ColumnElement[bool]) -> Any:
    return func.count(case((condition, ImprovementAction.id)))


def control_status_sql() -> Any:
    """A control's status over its actions: for a query grouped by control and outer-joined
    to its actions (a control with no actions is NONE)."""
    a = ImprovementAction
    out_of_scope = or_(
        a.implementation_status == ImplementationStatus.OUT_OF_SCOPE,
        a.test_status == TestStatus.OUT_OF_SCOPE,
    )
    in_scope = and_(a.id.isnot(None), not_(out_of_scope))
    failed = _count(a.test_status.in_(sorted(FAILED_TEST_STATUSES)))
    actions, scoped = func.count(a.id), _count(in_scope)
    passed = _count(and_(in_scope, a.test_status == TestStatus.PASSED))
    untested = _count(and_(in_scope, a.test_status.in_(sorted(NOT_TESTED_STATUSES))))
    return case(
        (failed > 0, ControlStatus.FAILED.value),
        (and_(actions > 0, scoped == 0), ControlStatus.OUT_OF_SCOPE.value),
        (and_(scoped > 0, passed == scoped), ControlStatus.PASSED.value),
        (untested == scoped, ControlStatus.NONE.value),
        else_=ControlStatus.IN_PROGRESS.value,
    )


def _controls_with_actions(*where: ColumnElement[bool]) -> Any:
    return (
        select(ControlAction.control_id)
        .join(ImprovementAction, ImprovementAction.id == ControlAction.action_id)
        .where(*where)
    )


def control_filter_clauses(f: ControlFilter) -> list[ColumnElement[bool]]:
    """WHERE clauses over ``Control``."""
    clauses: list[ColumnElement[bool]] = []
    if f.assessment_ids is not None:
        clauses.append(Control.assessment_id.in_(f.assessment_ids))
    if f.families is not None:
        clauses.append(Control.family.in_(f.families))
    if f.keys is not None:
        clauses.append(Control.key.in_(f.keys))
    if f.assignee_ids is not None:
        assigned = _controls_with_actions(ImprovementAction.assignee_id.in_(f.assignee_ids))
        clauses.append(Control.id.in_(assigned))
    if f.test_statuses is not None:
        tested = _controls_with_actions(ImprovementAction.test_status.in_(f.test_statuses))
        clauses.append(Control.id.in_(tested))
    if f.statuses is not None:
        inner = Control.__table__.alias("status_control")
        with_status = (
            select(inner.c.id)
            .outerjoin(ControlAction, ControlAction.control_id == inner.c.id)
            .outerjoin(ImprovementAction, ImprovementAction.id == ControlAction.action_id)
            .group_by(inner.c.id)
            .having(control_status_sql().in_([s.value for s in f.statuses]))
        )
        if f.assessment_ids is not None:  # keep the grouping to the assessments asked for
            with_status = with_status.where(inner.c.assessment_id.in_(f.assessment_ids))
        clauses.append(Control.id.in_(with_status))
    if f.search:
        clauses.append(or_(contains(Control.key, f.search), contains(Control.title, f.search)))
    return clauses
