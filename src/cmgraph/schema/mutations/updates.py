"""Inputs and payloads of the mutations that accept pending updates (DOMAIN.md 9 and 10)."""

from __future__ import annotations

import strawberry

from cmgraph.domain import updates
from cmgraph.schema.errors import UserError
from cmgraph.schema.types import Assessment, ImprovementAction, Score, loaders
from cmgraph.schema.update_changes import TemplateUpdateChanges


@strawberry.type(description="An assessment's stored score before and after a change.")
class AssessmentScoreChange:
    before: Score
    after: Score
    assessment_id: strawberry.Private[int]

    @strawberry.field
    async def assessment(self, info: strawberry.Info) -> Assessment | None:
        row = await loaders(info).assessment.load(self.assessment_id)
        return Assessment.from_row(row) if row is not None else None


@strawberry.type(description="How accepted updates moved the scores.")
class ScoreImpact:
    overall_before: Score = strawberry.field(
        description="Distinct actions of all active assessments, before."
    )
    overall_after: Score
    assessments: list[AssessmentScoreChange] = strawberry.field(
        description="Active assessments holding an accepted action, whether or not they moved."
    )

    @classmethod
    def of(cls, impact: updates.ScoreImpact) -> ScoreImpact:
        return cls(
            overall_before=Score.of(impact.overall_before),
            overall_after=Score.of(impact.overall_after),
            assessments=[
                AssessmentScoreChange(
                    before=Score.of(m.before),
                    after=Score.of(m.after),
                    assessment_id=m.assessment_id,
                )
                for m in impact.assessments
            ],
        )


@strawberry.input
class AcceptActionUpdateInput:
    action_id: strawberry.ID = strawberry.field(
        description="The instance to move; organisation-wide for technical and provider "
        "actions, one group's for the others."
    )


@strawberry.type
class AcceptActionUpdatePayload:
    improvement_action: ImprovementAction | None
    from_version: int | None
    to_version: int | None
    score_impact: ScoreImpact | None
    user_errors: list[UserError]


@strawberry.input
class AcceptAllActionUpdatesInput:
    assessment_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Only actions of these assessments; every pending action when omitted.",
    )


@strawberry.type
class AcceptAllActionUpdatesPayload:
    accepted_count: int | None
    score_impact: ScoreImpact | None
    user_errors: list[UserError]


@strawberry.input
class AcceptAssessmentUpdateInput:
    assessment_id: strawberry.ID


@strawberry.type
class AcceptAssessmentUpdatePayload:
    assessment: Assessment | None
    applied: TemplateUpdateChanges | None = strawberry.field(
        description="What changed in the assessment."
    )
    actions_created: int | None
    actions_removed: int | None = strawberry.field(
        description="Actions no assessment used any more, removed with their evidence."
    )
    score_before: Score | None
    score_after: Score | None
    user_errors: list[UserError]
