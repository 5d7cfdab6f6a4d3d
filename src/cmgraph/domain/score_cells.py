"""The compliance score kept as sums, so that reading it does not grow with the organisation
(DOMAIN.md section 7).

Each span (the organisation, and each active assessment, group and regulation) keeps sums over
its distinct instances, split by what a breakdown or a filter may ask: category, solution,
owner, type and the two statuses (``ScoreCell``). ``ScoreReach`` counts, per instance and
span, the span's active assessments that hold the instance; the instance is in the span's
sums while that count is above zero, so it counts once per span however many assessments or
controls share it. ``ScoreTotal`` adds each span's cells up, for the totals no filter narrows.

- An action's change moves its sums from its old cell to its new one in every span that holds
  it (``move``, with a ``snapshot`` taken before the change).
- An assessment that becomes active (is created) adds its instances to its spans, and one that
  stops (is archived or deleted) takes them away (``enter``, ``leave``). Accepting a template
  update leaves before its controls change and enters after.

Every write adds a delta, so concurrent writers add up. ``enter`` and ``leave`` lock the
instances they read (on PostgreSQL) first, as an edit locks its action: an edit and an
assessment's arrival on the same instance wait for each other, and the later one sees what
the earlier one did.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from typing import Any

from sqlalchemy import delete, select

from cmgraph.adapters.db import UnitOfWork, adding_upsert
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
    ImprovementAction,
    ScoreCell,
    ScoreReach,
    ScoreTotal,
    Template,
)
from cmgraph.domain.scoring import Score


@dataclass(frozen=True, slots=True)
class Standing:
    """What a cell is keyed by, besides its span."""

    category: str
    solution: str
    owner: Owner
    implementation_type: ImplementationType
    implementation_status: ImplementationStatus
    test_status: TestStatus


@dataclass(frozen=True, slots=True)
class Sums:
    actions: int = 0
    scored: int = 0  # actions with points possible
    earned: float = 0.0
    possible: int = 0

    def __add__(self, other: Sums) -> Sums:
        return Sums(
            self.actions + other.actions,
            self.scored + other.scored,
            self.earned + other.earned,
            self.possible + other.possible,
        )

    def __neg__(self) -> Sums:
        return Sums(-self.actions, -self.scored, -self.earned, -self.possible)


NOTHING = Sums()
STANDING = [f.name for f in fields(Standing)]
SUMS = [f.name for f in fields(Sums)]
CELL_KEY = ("span", "span_id", *STANDING)
REACH_KEY = ("action_id", "span", "span_id")
SPAN_KEY = ("span", "span_id")
Snapshot = tuple[Standing, Sums]
Span = tuple[ScoreSpan, int]
Changes = dict[tuple[ScoreSpan, int, Standing], Sums]


def sums_of(score: Score) -> Sums:
    return Sums(1, int(score.possible > 0), score.earned, score.possible)


async def snapshot(uow: UnitOfWork, action: ImprovementAction) -> Snapshot:
    """How ``action`` counts now; take it before a change and pass it to ``move`` after."""
    session = uow.session
    definition = await session.get(ActionDefinition, action.definition_id)
    version = await session.get(ActionDefinitionVersion, action.definition_version_id)
    assert definition is not None and version is not None
    standing = Standing(
        version.category,
        version.solution,
        definition.owner,
        definition.implementation_type,
        action.implementation_status,
        action.test_status,
    )
    return standing, sums_of(Score(action.earned, action.possible))


async def move(uow: UnitOfWork, action: ImprovementAction, before: Snapshot) -> None:
    """Move ``action``'s sums from how it counted ``before`` to how it counts now, in every
    span that holds it."""
    after = await snapshot(uow, action)
    if after == before:
        return
    spans = await uow.session.execute(
        select(ScoreReach.span, ScoreReach.span_id).where(ScoreReach.action_id == action.id)
    )
    changes: Changes = {}
    for span, span_id in spans.all():
        _add(changes, (span, span_id, before[0]), -before[1])
        _add(changes, (span, span_id, after[0]), after[1])
    await _apply(uow, changes)


async def enter(uow: UnitOfWork, assessment_id: int) -> None:
    """The assessment became active: its instances count in its spans."""
    await _reach(uow, assessment_id, 1)


async def leave(uow: UnitOfWork, assessment_id: int) -> None:
    """The assessment stops being active: its instances no longer count through it."""
    await _reach(uow, assessment_id, -1)


async def _reach(uow: UnitOfWork, assessment_id: int, step: int) -> None:
    session = uow.session
    await session.flush()
    group_id, regulation_id = (
        await session.execute(
            select(Assessment.group_id, Template.regulation_id)
            .join(Template, Template.id == Assessment.template_id)
            .where(Assessment.id == assessment_id)
        )
    ).one()
    held = (
        select(ControlAction.action_id)
        .join(Control, Control.id == ControlAction.control_id)
        .where(Control.assessment_id == assessment_id)
    )
    statement = (
        select(
            ImprovementAction.id,
            ActionDefinitionVersion.category,
            ActionDefinitionVersion.solution,
            ActionDefinition.owner,
            ActionDefinition.implementation_type,
            ImprovementAction.implementation_status,
            ImprovementAction.test_status,
            ImprovementAction.earned,
            ImprovementAction.possible,
        )
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .join(
            ActionDefinitionVersion,
            ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
        )
        .where(ImprovementAction.id.in_(held))
        .order_by(ImprovementAction.id)
    )
    dialect = session.get_bind().dialect.name
    if dialect != "sqlite":  # SQLite's writer holds the whole file already
        statement = statement.with_for_update(read=True, of=ImprovementAction)
    counted = {
        row[0]: (Standing(*row[1:7]), sums_of(Score(row[7], row[8])))
        for row in (await session.execute(statement)).all()
    }
    if not counted:
        return
    spans: list[Span] = [
        (ScoreSpan.ALL, 0),
        (ScoreSpan.ASSESSMENT, assessment_id),
        (ScoreSpan.GROUP, group_id),
        (ScoreSpan.REGULATION, regulation_id),
    ]
    changes: Changes = {}
    upsert = adding_upsert(dialect, ScoreReach, REACH_KEY, ("assessments",)).returning(
        ScoreReach.action_id, ScoreReach.assessments
    )
    ids = sorted(counted)
    for span, span_id in spans:
        rows = [
            {"action_id": i, "span": span, "span_id": span_id, "assessments": step} for i in ids
        ]
        for action_id, assessments in (await session.execute(upsert, rows)).all():
            # In or out of the span's sums when the count moves from or to zero.
            if assessments == (1 if step > 0 else 0):
                standing, sums = counted[action_id]
                _add(changes, (span, span_id, standing), sums if step > 0 else -sums)
        if step < 0:
            await session.execute(
                delete(ScoreReach).where(
                    ScoreReach.span == span,
                    ScoreReach.span_id == span_id,
                    ScoreReach.action_id.in_(ids),
                    ScoreReach.assessments <= 0,
                )
            )
    await _apply(uow, changes)
    if step < 0:  # emptied cells go: all of a leaving assessment's, and of spans it empties
        for span, span_id in spans:
            for emptied in (ScoreCell, ScoreTotal):
                await session.execute(
                    delete(emptied).where(
                        emptied.span == span, emptied.span_id == span_id, emptied.actions == 0
                    )
                )


def _add(changes: Changes, key: tuple[ScoreSpan, int, Standing], sums: Sums) -> None:
    changes[key] = changes.get(key, NOTHING) + sums


async def _apply(uow: UnitOfWork, changes: Changes) -> None:
    rows = [
        {
            "span": span,
            "span_id": span_id,
            **dict(zip(STANDING, astuple(standing), strict=True)),
            **dict(zip(SUMS, astuple(sums), strict=True)),
        }
        for (span, span_id, standing), sums in sorted(changes.items(), key=_order)
        if sums != NOTHING
    ]
    totals: dict[Span, Sums] = {}
    for (span, span_id, _), sums in changes.items():
        totals[span, span_id] = totals.get((span, span_id), NOTHING) + sums
    spans = [
        {"span": span, "span_id": span_id, **dict(zip(SUMS, astuple(sums), strict=True))}
        for (span, span_id), sums in sorted(totals.items(), key=lambda t: (t[0][0].value, t[0][1]))
        if sums != NOTHING
    ]
    dialect = uow.session.get_bind().dialect.name
    for model, key, values in ((ScoreCell, CELL_KEY, rows), (ScoreTotal, SPAN_KEY, spans)):
        if values:
            await uow.session.execute(adding_upsert(dialect, model, key, tuple(SUMS)), values)


def _order(item: tuple[tuple[ScoreSpan, int, Standing], Sums]) -> tuple[Any, ...]:
    """Cells in key order, so that writers lock shared ones in the same order."""
    (span, span_id, standing), _ = item
    return (span.value, span_id, *(str(v) for v in astuple(standing)))
