"""The organisation's compliance score: what it counts, and its breakdowns (DOMAIN.md
section 7). Each action instance counts once overall and once per breakdown key, over the
active assessments the caller may read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, union

from cmgraph.domain import calendar, clock, scoring
from cmgraph.domain.enums import (
    ImplementationStatus,
    ImplementationType,
    Owner,
    ScoreSpan,
    TestStatus,
)
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Assessment,
    Control,
    ControlAction,
    Group,
    ImprovementAction,
    Regulation,
    ScoreCell,
    ScoreReach,
    ScoreTotal,
    Template,
)
from cmgraph.domain.permissions import Principal, readable_assessments


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One (assessment, action instance) pair the caller may read, with its dimensions; or,
    read from ``score_cells``, the sums of the instances that share them."""

    action_id: int  # unique per row when read from the sums
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
    scored: int  # actions with points possible
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

    @property
    def whole(self) -> bool:
        """Not narrowed to some assessments, groups or regulations."""
        return all(
            ids is None for ids in (self.assessment_ids, self.group_ids, self.regulation_ids)
        )

    @property
    def unnarrowed(self) -> bool:
        """Not narrowed at all: every action of what it covers counts."""
        return self.whole and all(
            values is None
            for values in (self.categories, self.solutions, self.owner, self.implementation_types)
        )


Execute = Callable[[Any], Awaitable[Any]]


def _reachable(
    columns: Sequence[Any], principal: Principal, scope: ScoreScope
) -> Select[*tuple[Any, ...]]:
    """``columns`` of the readable (assessment, action) pairs of active assessments within
    ``scope``."""
    action, version = ImprovementAction, ActionDefinitionVersion
    statement = (
        select(*columns)
        .select_from(action)
        .join(ControlAction, ControlAction.action_id == action.id)
        .join(Control, Control.id == ControlAction.control_id)
        .join(Assessment, Assessment.id == Control.assessment_id)
        .join(Group, Group.id == Assessment.group_id)
        .join(Template, Template.id == Assessment.template_id)
        .join(Regulation, Regulation.id == Template.regulation_id)
        .join(ActionDefinition, ActionDefinition.id == action.definition_id)
        .join(version, version.id == action.definition_version_id)
        .where(Assessment.archived_at.is_(None), readable_assessments(principal))
    )
    if scope.assessment_ids is not None:
        statement = statement.where(Assessment.id.in_(scope.assessment_ids))
    if scope.group_ids is not None:
        statement = statement.where(Assessment.group_id.in_(scope.group_ids))
    if scope.regulation_ids is not None:
        statement = statement.where(Regulation.id.in_(scope.regulation_ids))
    return _narrowed(statement, scope, version.category, version.solution, ActionDefinition)


Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])


def _narrowed(
    statement: Query, scope: ScoreScope, category: Any, solution: Any, typed: Any
) -> Query:
    """``statement`` kept to the scope's categories, solutions, owner and types, read from
    these columns (``typed`` has ``owner`` and ``implementation_type``)."""
    if scope.categories is not None:
        statement = statement.where(category.in_(scope.categories))
    if scope.solutions is not None:
        statement = statement.where(solution.in_(scope.solutions))
    if scope.owner is not None:
        statement = statement.where(typed.owner == scope.owner)
    if scope.implementation_types is not None:
        statement = statement.where(typed.implementation_type.in_(scope.implementation_types))
    return statement


async def score_rows(
    execute: Execute, principal: Principal, scope: ScoreScope, *, dated: bool = False
) -> list[ScoreRow]:
    """The readable (assessment, action) pairs of active assessments within ``scope``;
    ``dated``: only those of actions with a due date or a retest day (for the due counts)."""
    action, version = ImprovementAction, ActionDefinitionVersion
    statement = _reachable(
        [
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
        ],
        principal,
        scope,
    ).distinct()
    if dated:  # few actions carry a date: find them by their indexes first
        with_dates = union(
            select(action.id).where(action.due_date.is_not(None)),
            select(action.id).where(action.retest_due_on.is_not(None)),
        )
        statement = statement.where(action.id.in_(with_dates))
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
            scored=int(r[11] > 0),
            due_state=calendar.due_state(r[15], r[14], today, r[17]),
            retest_due=calendar.is_retest_due(r[16], today),
        )
        for r in (await execute(statement)).all()
    ]


@dataclass(frozen=True)
class ScoreFigures:
    """What ``complianceScore`` counts: ``rows`` for the overall score, the breakdowns by the
    actions' own fields and the solutions; ``spans`` for the breakdowns by assessment, group
    and regulation; ``dated`` for the due counts."""

    rows: list[ScoreRow]
    spans: dict[ScoreSpan, list[ScoreRow]]
    dated: list[ScoreRow]


def sums_apply(principal: Principal, scope: ScoreScope) -> bool:
    """The kept sums (``score_cells``) answer for callers who read every assessment, over
    the whole organisation; other scopes are counted from their rows."""
    return principal.sees_everything and scope.whole


@dataclass(frozen=True)
class ScoreParts:
    """Which parts of ``ScoreFigures`` a reader needs (the others are left empty)."""

    rows: bool = True
    spans: bool = True
    dated: bool = True


async def score_figures(
    execute: Execute, principal: Principal, scope: ScoreScope, parts: ScoreParts = ScoreParts()
) -> ScoreFigures:
    """One statement per part wanted from the kept sums; else one statement of rows."""
    if not sums_apply(principal, scope):
        rows = await score_rows(execute, principal, scope)
        return ScoreFigures(rows, dict.fromkeys(SPAN_BREAKDOWNS, rows), rows)
    return ScoreFigures(
        await _organisation_sums(execute, scope) if parts.rows else [],
        await _span_sums(execute, scope) if parts.spans else {s: [] for s in SPAN_BREAKDOWNS},
        await score_rows(execute, principal, scope, dated=True) if parts.dated else [],
    )


SPAN_BREAKDOWNS = (ScoreSpan.ASSESSMENT, ScoreSpan.GROUP, ScoreSpan.REGULATION)
_NO_SPAN = (0, "")


async def _organisation_sums(execute: Execute, scope: ScoreScope) -> list[ScoreRow]:
    cell = ScoreCell
    statement = select(
        cell.category,
        cell.solution,
        cell.owner,
        cell.earned,
        cell.possible,
        cell.test_status,
        cell.implementation_type,
        cell.implementation_status,
        cell.scored,
    ).where(cell.span == ScoreSpan.ALL, cell.actions > 0)
    statement = _narrowed(statement, scope, cell.category, cell.solution, cell)
    return [
        ScoreRow(
            action_id=-n,
            assessment=_NO_SPAN,
            group=_NO_SPAN,
            regulation=_NO_SPAN,
            category=r[0],
            solution=r[1],
            owner=r[2].value,
            score=scoring.Score(r[3], r[4]),
            test_status=r[5],
            implementation_type=r[6],
            implementation_status=r[7],
            scored=r[8],
        )
        for n, r in enumerate((await execute(statement)).all(), start=1)
    ]


async def _span_sums(execute: Execute, scope: ScoreScope) -> dict[ScoreSpan, list[ScoreRow]]:
    """Each active assessment's, group's and regulation's sums, with its name: its total,
    or, narrowed by categories, solutions, owner or types, its cells added up."""
    kept: Any = ScoreTotal if scope.unnarrowed else ScoreCell
    label = func.coalesce(Assessment.name, Group.name, Regulation.name)
    statement = (
        select(kept.span, kept.span_id, label, func.sum(kept.earned), func.sum(kept.possible))
        .outerjoin(
            Assessment, (kept.span == ScoreSpan.ASSESSMENT) & (Assessment.id == kept.span_id)
        )
        .outerjoin(Group, (kept.span == ScoreSpan.GROUP) & (Group.id == kept.span_id))
        .outerjoin(
            Regulation, (kept.span == ScoreSpan.REGULATION) & (Regulation.id == kept.span_id)
        )
        .where(kept.span != ScoreSpan.ALL)
        .group_by(kept.span, kept.span_id, label)
        .having(func.sum(kept.actions) > 0)
    )
    if kept is ScoreCell:
        statement = _narrowed(statement, scope, kept.category, kept.solution, kept)
    spans: dict[ScoreSpan, list[ScoreRow]] = {span: [] for span in SPAN_BREAKDOWNS}
    for n, (span, span_id, name, earned, possible) in enumerate(
        (await execute(statement)).all(), start=1
    ):
        named = (span_id, name)
        spans[span].append(
            ScoreRow(
                action_id=-n,
                assessment=named if span is ScoreSpan.ASSESSMENT else _NO_SPAN,
                group=named if span is ScoreSpan.GROUP else _NO_SPAN,
                regulation=named if span is ScoreSpan.REGULATION else _NO_SPAN,
                category="",
                solution="",
                owner="",
                score=scoring.Score(float(earned), int(possible)),
                test_status=TestStatus.NONE,
                implementation_type=ImplementationType.TECHNICAL,
                implementation_status=ImplementationStatus.NOT_IMPLEMENTED,
                scored=0,
            )
        )
    return spans


async def overall_score(execute: Execute, principal: Principal | None) -> scoring.Score:
    """The overall score over the active assessments ``principal`` may read (None: all of
    them), each action instance once."""
    action = ImprovementAction
    if principal is None or sums_apply(principal, ScoreScope()):
        statement = select(func.sum(ScoreTotal.earned), func.sum(ScoreTotal.possible)).where(
            ScoreTotal.span == ScoreSpan.ALL
        )
    else:
        held = _reachable([action.id], principal, ScoreScope())
        statement = select(func.sum(action.earned), func.sum(action.possible)).where(
            action.id.in_(held)
        )
    earned, possible = (await execute(statement)).one()
    return scoring.Score(float(earned or 0.0), int(possible or 0))


async def most_points_left(
    execute: Execute, principal: Principal, scope: ScoreScope, first: int
) -> list[tuple[int, scoring.Score]]:
    """The ``first`` distinct action instances within ``scope`` with the most points still
    to earn, with their scores."""
    action, version = ImprovementAction, ActionDefinitionVersion
    if sums_apply(principal, scope):
        counted = select(ScoreReach.action_id).where(ScoreReach.span == ScoreSpan.ALL)
    else:
        counted = _reachable([action.id], principal, scope)
    statement = (
        select(action.id, action.earned, action.possible)
        .join(ActionDefinition, ActionDefinition.id == action.definition_id)
        .join(version, version.id == action.definition_version_id)
        .where(action.id.in_(counted))
        .order_by((action.possible - action.earned).desc(), action.id)
        .limit(first)
    )
    statement = _narrowed(statement, scope, version.category, version.solution, ActionDefinition)
    return [(r[0], scoring.Score(r[1], r[2])) for r in (await execute(statement)).all()]


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
        unpassed = row.scored if row.test_status is not TestStatus.PASSED else 0
        totals[row.solution] = (score + row.score, left + unpassed)
    return [SolutionTotal(name, score, left) for name, (score, left) in sorted(totals.items())]
