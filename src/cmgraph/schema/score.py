"""The organisation's compliance score and its breakdowns."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, cast

import strawberry

from cmgraph import global_ids
from cmgraph.domain import compliance_score
from cmgraph.domain.compliance_score import ScoreFigures, ScoreParts, ScoreRow, ScoreScope
from cmgraph.domain.enums import ScoreSpan
from cmgraph.resolvers.selection import Selection
from cmgraph.schema.enums import ImplementationType
from cmgraph.schema.types import ImprovementAction, Score, loaders

MAX_CONTRIBUTIONS = 100
SPAN_FIELDS = frozenset({"byAssessment", "byGroup", "byRegulation"})
DUE_FIELDS = frozenset({"overdueCount", "dueSoonCount", "retestDueCount"})


@strawberry.type
class ScoreBreakdown:
    key: str = strawberry.field(description="A global id, or the value itself for text keys.")
    label: str
    score: Score
    overdue_count: int = strawberry.field(
        default=0, description="Actions of this row past their due date, work still open."
    )
    due_soon_count: int = strawberry.field(
        default=0, description="Actions of this row due within the organisation's dueSoonDays."
    )
    retest_due_count: int = strawberry.field(
        default=0, description="Passed actions of this row whose retest day has come."
    )


@strawberry.type
class SolutionSummary:
    solution: str
    earned: float
    possible: int
    remaining_actions: int = strawberry.field(
        description="In-scope actions of this solution that have not passed."
    )


@strawberry.type
class ActionContribution:
    action: ImprovementAction
    earned: float
    possible: int
    remaining: float = strawberry.field(description="Points still to earn.")


def _entries(
    rows: list[ScoreRow], dated: list[ScoreRow], key: Any, label: Any, node: str | None = None
) -> list[ScoreBreakdown]:
    labels: dict[Hashable, str] = {key(row): label(row) for row in rows}
    due = compliance_score.due_counts_by(dated, key)
    none = compliance_score.DueCounts()
    return sorted(
        (
            ScoreBreakdown(
                # With a node type, the keys are that type's row ids.
                key=global_ids.encode(node, cast("int", k)) if node else str(k),
                label=labels[k],
                score=Score.of(total),
                overdue_count=due.get(k, none).overdue,
                due_soon_count=due.get(k, none).due_soon,
                retest_due_count=due.get(k, none).retest_due,
            )
            for k, total in compliance_score.breakdown(rows, key).items()
        ),
        key=lambda entry: entry.label.lower(),
    )


def parts_wanted(selection: Selection) -> ScoreParts:
    """What the selection on a ``ComplianceScore`` reads: the organisation's rows for all but
    the span breakdowns and ``contributions``; dated rows for any due count."""
    return ScoreParts(
        rows=bool(selection.keys() - SPAN_FIELDS - DUE_FIELDS - {"contributions"}),
        spans=bool(selection.keys() & SPAN_FIELDS),
        dated=any(
            name in DUE_FIELDS or below.keys() & DUE_FIELDS for name, below in selection.items()
        ),
    )


def _by_value(figures: ScoreFigures, name: str) -> list[ScoreBreakdown]:
    """Entries keyed and labelled by an enum field of the rows, as its GraphQL value."""

    def value(row: ScoreRow) -> str:
        return str(getattr(row, name).value)

    return _entries(figures.rows, figures.dated, value, value)


@strawberry.type(description="Sums over distinct action instances of active assessments.")
class ComplianceScore:
    figures: strawberry.Private[ScoreFigures]
    scope: strawberry.Private[ScoreScope]

    @strawberry.field(description="Not the average of assessment scores: each action counts once.")
    def overall(self) -> Score:
        return Score.of(compliance_score.overall(self.figures.rows))

    @strawberry.field(description="Actions past their due date, work still open (each once).")
    def overdue_count(self) -> int:
        return compliance_score.due_counts(self.figures.dated).overdue

    @strawberry.field(description="Actions due within the organisation's dueSoonDays.")
    def due_soon_count(self) -> int:
        return compliance_score.due_counts(self.figures.dated).due_soon

    @strawberry.field(description="Passed actions whose retest day has come.")
    def retest_due_count(self) -> int:
        return compliance_score.due_counts(self.figures.dated).retest_due

    def _by(
        self, key: Any, label: Any, span: ScoreSpan | None = None, node: str | None = None
    ) -> list[ScoreBreakdown]:
        rows = self.figures.rows if span is None else self.figures.spans[span]
        return _entries(rows, self.figures.dated, key, label, node)

    @strawberry.field
    def by_assessment(self) -> list[ScoreBreakdown]:
        return self._by(
            lambda r: r.assessment[0], lambda r: r.assessment[1], ScoreSpan.ASSESSMENT, "Assessment"
        )

    @strawberry.field
    def by_group(self) -> list[ScoreBreakdown]:
        return self._by(lambda r: r.group[0], lambda r: r.group[1], ScoreSpan.GROUP, "Group")

    @strawberry.field
    def by_regulation(self) -> list[ScoreBreakdown]:
        return self._by(
            lambda r: r.regulation[0],
            lambda r: r.regulation[1],
            ScoreSpan.REGULATION,
            "Regulation",
        )

    @strawberry.field
    def by_category(self) -> list[ScoreBreakdown]:
        return self._by(lambda r: r.category, lambda r: r.category or "(none)")

    @strawberry.field
    def by_solution(self) -> list[ScoreBreakdown]:
        return self._by(lambda r: r.solution, lambda r: r.solution or "(none)")

    @strawberry.field(description="Customer versus provider actions.")
    def by_owner(self) -> list[ScoreBreakdown]:
        return self._by(lambda r: r.owner, lambda r: r.owner)

    @strawberry.field(description="By action type (implementation type).")
    def by_action_type(self) -> list[ScoreBreakdown]:
        return _by_value(self.figures, "implementation_type")

    @strawberry.field(
        description="By implementation status (OUT_OF_SCOPE, when present, has nothing possible)."
    )
    def by_implementation_status(self) -> list[ScoreBreakdown]:
        return _by_value(self.figures, "implementation_status")

    @strawberry.field(description="By test status: how many points stand at each stage.")
    def by_test_status(self) -> list[ScoreBreakdown]:
        return _by_value(self.figures, "test_status")

    @strawberry.field(
        description="Per solution: points and the actions left to pass; with "
        "`implementationTypes`, of actions of those types only."
    )
    def solutions(
        self, implementation_types: list[ImplementationType] | None = None
    ) -> list[SolutionSummary]:
        return [
            SolutionSummary(
                solution=t.solution,
                earned=t.score.earned,
                possible=t.score.possible,
                remaining_actions=t.remaining_actions,
            )
            for t in compliance_score.solution_totals(self.figures.rows, implementation_types)
        ]

    @strawberry.field(description="Why the score is what it is: actions by points left to earn.")
    async def contributions(
        self, info: strawberry.Info, first: int = 20
    ) -> list[ActionContribution]:
        context = info.context
        ranked = await compliance_score.most_points_left(
            context.reader.execute,
            context.principal,
            self.scope,
            max(0, min(first, MAX_CONTRIBUTIONS)),
        )
        records = await loaders(info).action.load_many([action_id for action_id, _ in ranked])
        return [
            ActionContribution(
                action=ImprovementAction.from_record(record),
                earned=score.earned,
                possible=score.possible,
                remaining=score.possible - score.earned,
            )
            for (_, score), record in zip(ranked, records, strict=True)
            if record is not None
        ]
