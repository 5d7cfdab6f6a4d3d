"""The organisation's compliance score and its breakdowns."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, cast

import strawberry

from cmgraph import global_ids
from cmgraph.domain import compliance_score
from cmgraph.domain.compliance_score import ScoreRow
from cmgraph.schema.enums import ImplementationType
from cmgraph.schema.types import ImprovementAction, Score, loaders

MAX_CONTRIBUTIONS = 100


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
    rows: list[ScoreRow], key: Any, label: Any, node: str | None = None
) -> list[ScoreBreakdown]:
    labels: dict[Hashable, str] = {key(row): label(row) for row in rows}
    due = compliance_score.due_counts_by(rows, key)
    return sorted(
        (
            ScoreBreakdown(
                # With a node type, the keys are that type's row ids.
                key=global_ids.encode(node, cast("int", k)) if node else str(k),
                label=labels[k],
                score=Score.of(total),
                overdue_count=due[k].overdue,
                due_soon_count=due[k].due_soon,
                retest_due_count=due[k].retest_due,
            )
            for k, total in compliance_score.breakdown(rows, key).items()
        ),
        key=lambda entry: entry.label.lower(),
    )


def _by_value(rows: list[ScoreRow], name: str) -> list[ScoreBreakdown]:
    """Entries keyed and labelled by an enum field of the rows, as its GraphQL value."""

    def value(row: ScoreRow) -> str:
        return str(getattr(row, name).value)

    return _entries(rows, value, value)


@strawberry.type(description="Sums over distinct action instances of active assessments.")
class ComplianceScore:
    rows: strawberry.Private[list[ScoreRow]]

    @strawberry.field(description="Not the average of assessment scores: each action counts once.")
    def overall(self) -> Score:
        return Score.of(compliance_score.overall(self.rows))

    @strawberry.field(description="Actions past their due date, work still open (each once).")
    def overdue_count(self) -> int:
        return compliance_score.due_counts(self.rows).overdue

    @strawberry.field(description="Actions due within the organisation's dueSoonDays.")
    def due_soon_count(self) -> int:
        return compliance_score.due_counts(self.rows).due_soon

    @strawberry.field(description="Passed actions whose retest day has come.")
    def retest_due_count(self) -> int:
        return compliance_score.due_counts(self.rows).retest_due

    @strawberry.field
    def by_assessment(self) -> list[ScoreBreakdown]:
        return _entries(
            self.rows, lambda r: r.assessment[0], lambda r: r.assessment[1], "Assessment"
        )

    @strawberry.field
    def by_group(self) -> list[ScoreBreakdown]:
        return _entries(self.rows, lambda r: r.group[0], lambda r: r.group[1], "Group")

    @strawberry.field
    def by_regulation(self) -> list[ScoreBreakdown]:
        return _entries(
            self.rows, lambda r: r.regulation[0], lambda r: r.regulation[1], "Regulation"
        )

    @strawberry.field
    def by_category(self) -> list[ScoreBreakdown]:
        return _entries(self.rows, lambda r: r.category, lambda r: r.category or "(none)")

    @strawberry.field
    def by_solution(self) -> list[ScoreBreakdown]:
        return _entries(self.rows, lambda r: r.solution, lambda r: r.solution or "(none)")

    @strawberry.field(description="Customer versus provider actions.")
    def by_owner(self) -> list[ScoreBreakdown]:
        return _entries(self.rows, lambda r: r.owner, lambda r: r.owner)

    @strawberry.field(description="By action type (implementation type).")
    def by_action_type(self) -> list[ScoreBreakdown]:
        return _by_value(self.rows, "implementation_type")

    @strawberry.field(
        description="By implementation status (OUT_OF_SCOPE, when present, has nothing possible)."
    )
    def by_implementation_status(self) -> list[ScoreBreakdown]:
        return _by_value(self.rows, "implementation_status")

    @strawberry.field(description="By test status: how many points stand at each stage.")
    def by_test_status(self) -> list[ScoreBreakdown]:
        return _by_value(self.rows, "test_status")

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
            for t in compliance_score.solution_totals(self.rows, implementation_types)
        ]

    @strawberry.field(description="Why the score is what it is: actions by points left to earn.")
    async def contributions(
        self, info: strawberry.Info, first: int = 20
    ) -> list[ActionContribution]:
        ranked = compliance_score.most_points_left(self.rows, max(0, min(first, MAX_CONTRIBUTIONS)))
        records = await loaders(info).action.load_many([r.action_id for r in ranked])
        return [
            ActionContribution(
                action=ImprovementAction.from_record(record),
                earned=row.score.earned,
                possible=row.score.possible,
                remaining=row.score.possible - row.score.earned,
            )
            for row, record in zip(ranked, records, strict=True)
            if record is not None
        ]
