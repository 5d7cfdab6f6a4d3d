"""The organisation's compliance score: what it counts, and its breakdowns (DOMAIN.md
section 7). Each action instance counts once overall and once per breakdown key, over the
active assessments the caller may read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from cmgraph.domain import calendar, clock, scoring
from cmgraph.domain.enums import ImplementationStatus, ImplementationType, Owner, TestStatus
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Assessment,
    Control,
    ControlAction,
    Group,
    ImprovementAction,
    Regulation,
    Template,
)
from cmgraph.domain.permissions import Principal, readable_assessments


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One (assessment, action instance) pair the caller may read, with its dimensions."""

    action_id: int
    assessment: tuple[int, str]
    group: tuple[int, str]
    regulation: tuple[int, str]
    category: str
    solution: str
    owner: str
    score: scoring.Score
    test_status: TestStatus
    implementation_type: ImplementationType
    implementation_status: ImplementationStatus
    # DOMAIN.md section 15, as of the day read (``calendar``).
    due_state: calendar.DueState = calendar.DueState.NONE
    retest_due: bool = False


@dataclass(frozen=True)
class ScoreScope:
    """What to count: None leaves a dimension open."""

    assessment_ids: Collection[int] | None = None
    group_ids: Collection[int] | None = None
    regulation_ids: Collection[int] | None = None
    categories: Collection[str] | None = None
    solutions: Collection[str] | None = None
    owner: Owner | None = None
    implementation_types: Collection[ImplementationType] | None = None


async def score_rows(
    execute: Callable[[Any], Awaitable[Any]], principal: Principal, scope: ScoreScope
) -> list[ScoreRow]:
    """The readable (assessment, action) pairs of active assessments within ``scope``."""
    action, version = ImprovementAction, ActionDefinitionVersion
    statement = (
        select(
            action.id,
            Assessment.id,
            Assessment.name,
            Group.id,
            Group.name,
            Regulation.id,
            Regulation.name,
            version.category,
            version.solution,
            ActionDefinition.owner,
            action.earned,
            action.possible,
            action.test_status,
            ActionDefinition.implementation_type,
            action.implementation_status,
            action.due_date,
            action.retest_due_on,
            calendar.due_soon_days_query().scalar_subquery(),
        )
        .join(ControlAction, ControlAction.action_id == action.id)
        .join(Control, Control.id == ControlAction.control_id)
        .join(Assessment, Assessment.id == Control.assessment_id)
        .join(Group, Group.id == Assessment.group_id)
        .join(Template, Template.id == Assessment.template_id)
        .join(Regulation, Regulation.id == Template.regulation_id)
        .join(ActionDefinition, ActionDefinition.id == action.definition_id)
        .join(version, version.id == action.definition_version_id)
        .where(Assessment.archived_at.is_(None), readable_assessments(principal))
        .distinct()
    )
    if scope.assessment_ids is not None:
        statement = statement.where(Assessment.id.in_(scope.assessment_ids))
    if scope.group_ids is not None:
        statement = statement.where(Assessment.group_id.in_(scope.group_ids))
    if scope.regulation_ids is not None:
        statement = statement.where(Regulation.id.in_(scope.regulation_ids))
    if scope.categories is not None:
        statement = statement.where(version.category.in_(scope.categories))
    if scope.solutions is not None:
        statement = statement.where(version.solution.in_(scope.solutions))
    if scope.owner is not None:
        statement = statement.where(ActionDefinition.owner == scope.owner)
    if scope.implementation_types is not None:
        types = scope.implementation_types
        statement = statement.where(ActionDefinition.implementation_type.in_(types))
    today = clock.today()
    return [
        ScoreRow(
            action_id=r[0],
            assessment=(r[1], r[2]),
            group=(r[3], r[4]),
            regulation=(r[5], r[6]),
            category=r[7],
            solution=r[8],
            owner=r[9].value,
            score=scoring.Score(r[10], r[11]),
            test_status=r[12],
            implementation_type=r[13],
            implementation_status=r[14],
            due_state=calendar.due_state(r[15], r[14], today, r[17]),
            retest_due=calendar.is_retest_due(r[16], today),
        )
        for r in (await execute(statement)).all()
    ]


@dataclass(frozen=True)
class DueCounts:
    """Actions (each instance once) overdue, due soon and due for retest."""

    overdue: int = 0
    due_soon: int = 0
    retest_due: int = 0


def due_counts(rows: Iterable[ScoreRow]) -> DueCounts:
    actions = distinct_actions(rows)
    return DueCounts(
        overdue=sum(r.due_state is calendar.DueState.OVERDUE for r in actions),
        due_soon=sum(r.due_state is calendar.DueState.DUE_SOON for r in actions),
        retest_due=sum(r.retest_due for r in actions),
    )


def due_counts_by(
    rows: Iterable[ScoreRow], key: Callable[[ScoreRow], Hashable]
) -> dict[Hashable, DueCounts]:
    """``due_counts`` per breakdown key, each action instance once per key."""
    grouped: dict[Hashable, list[ScoreRow]] = {}
    for row in rows:
        grouped.setdefault(key(row), []).append(row)
    return {k: due_counts(group) for k, group in grouped.items()}


def distinct_actions(rows: Iterable[ScoreRow]) -> list[ScoreRow]:
    """One row per action instance (an instance in several assessments counts once)."""
    return list({row.action_id: row for row in rows}.values())


def overall(rows: Iterable[ScoreRow]) -> scoring.Score:
    """Not the average of assessment scores: each action instance counts once."""
    return scoring.total(row.score for row in distinct_actions(rows))


def breakdown(
    rows: Iterable[ScoreRow], key: Callable[[ScoreRow], Hashable]
) -> dict[Hashable, scoring.Score]:
    """Score per key, each action instance once per key."""
    return scoring.breakdown((key(row), row.action_id, row.score) for row in rows)


@dataclass(frozen=True)
class SolutionTotal:
    solution: str
    score: scoring.Score
    remaining_actions: int  # in scope and not passed


def solution_totals(
    rows: Iterable[ScoreRow], implementation_types: Collection[ImplementationType] | None = None
) -> list[SolutionTotal]:
    """Per solution, by name: its points and the in-scope actions that have not passed;
    only actions of ``implementation_types`` when given."""
    totals: dict[str, tuple[scoring.Score, int]] = {}
    for row in distinct_actions(rows):
        if implementation_types is not None and row.implementation_type not in implementation_types:
            continue
        score, left = totals.get(row.solution, (scoring.ZERO, 0))
        unpassed = bool(row.score.possible) and row.test_status is not TestStatus.PASSED
        totals[row.solution] = (score + row.score, left + unpassed)
    return [SolutionTotal(name, score, left) for name, (score, left) in sorted(totals.items())]


def most_points_left(rows: Iterable[ScoreRow], first: int) -> list[ScoreRow]:
    """The ``first`` action instances with the most points still to earn."""
    ranked = sorted(
        distinct_actions(rows),
        key=lambda r: (-(r.score.possible - r.score.earned), r.action_id),
    )
    return ranked[:first]
