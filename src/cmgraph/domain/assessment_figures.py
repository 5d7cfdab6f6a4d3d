"""Figures of an assessment beside its score: completed actions by owner, and its last change.

- An action is *completed* when its test status is PASSED: the same line the score draws
  (only a passed action earns its points) and the one the solutions summary counts as left.
- *Total* counts the in-scope actions: an action out of scope (implementation or test status
  ``OUT_OF_SCOPE``) leaves both counts, as it leaves both earned and possible points.
- Each action instance counts once per assessment, however many of its controls it meets.
- The last change is the latest of the assessment's own ``updated_at`` (rename, archive,
  accepted template update) and the ``updated_at`` of its actions, out-of-scope ones included.

One statement answers for any number of assessments, so a page of them costs one read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, select

from cmgraph.domain.enums import ImplementationStatus, Owner, TestStatus
from cmgraph.domain.models import (
    ActionDefinition,
    Control,
    ControlAction,
    ImprovementAction,
)


@dataclass(frozen=True, slots=True)
class ActionCounts:
    completed: int = 0
    total: int = 0


NO_ACTIONS = ActionCounts()


@dataclass(frozen=True, slots=True)
class AssessmentFigures:
    customer: ActionCounts = NO_ACTIONS
    provider: ActionCounts = NO_ACTIONS
    actions_updated_at: datetime | None = None  # the latest change of any of its actions

    def last_modified_at(self, assessment_updated_at: datetime) -> datetime:
        if self.actions_updated_at is None:
            return assessment_updated_at
        return max(assessment_updated_at, self.actions_updated_at)


NO_FIGURES = AssessmentFigures()


def figures_select(assessment_ids: Collection[int]) -> Select[*tuple[Any, ...]]:
    """Per (assessment, owner): completed and in-scope distinct actions, latest change."""
    a = ImprovementAction
    in_scope = and_(
        a.implementation_status != ImplementationStatus.OUT_OF_SCOPE,
        a.test_status != TestStatus.OUT_OF_SCOPE,
    )
    passed = and_(in_scope, a.test_status == TestStatus.PASSED)
    return (
        select(
            Control.assessment_id,
            ActionDefinition.owner,
            func.count(func.distinct(case((passed, a.id)))),
            func.count(func.distinct(case((in_scope, a.id)))),
            func.max(a.updated_at),
        )
        .join(ControlAction, ControlAction.control_id == Control.id)
        .join(a, a.id == ControlAction.action_id)
        .join(ActionDefinition, ActionDefinition.id == a.definition_id)
        .where(Control.assessment_id.in_(assessment_ids))
        .group_by(Control.assessment_id, ActionDefinition.owner)
    )


async def assessment_figures(
    execute: Callable[[Any], Awaitable[Any]], assessment_ids: Collection[int]
) -> dict[int, AssessmentFigures]:
    """The figures of each assessment in ``assessment_ids`` (NO_FIGURES when it has no actions)."""
    found: dict[int, dict[str, Any]] = {}
    for assessment_id, owner, completed, total, updated_at in (
        await execute(figures_select(assessment_ids))
    ).all():
        parts = found.setdefault(assessment_id, {})
        key = "customer" if Owner(owner) is Owner.CUSTOMER else "provider"
        parts[key] = ActionCounts(int(completed), int(total))
        latest = parts.get("actions_updated_at")
        if updated_at is not None and (latest is None or updated_at > latest):
            parts["actions_updated_at"] = updated_at
    return {i: AssessmentFigures(**found[i]) if i in found else NO_FIGURES for i in assessment_ids}
