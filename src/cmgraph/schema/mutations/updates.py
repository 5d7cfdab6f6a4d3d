"""Mutations that accept pending updates (DOMAIN.md 9 and 10)."""

from __future__ import annotations

import strawberry

from cmgraph.domain import updates as service
from cmgraph.resolvers.mutations import updates
from cmgraph.schema.errors import UserError, user_errors
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
    def of(cls, impact: service.ScoreImpact) -> ScoreImpact:
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


@strawberry.type
class UpdateMutations:
    @strawberry.mutation(
        description="Move an action to its definition's latest version (administrators). "
        "Points may change, and with them the scores of every assessment holding it."
    )
    async def accept_action_update(
        self, info: strawberry.Info, input: AcceptActionUpdateInput
    ) -> AcceptActionUpdatePayload:
        outcome = await updates.accept_action_update(info, input)
        if outcome.value is None:
            return AcceptActionUpdatePayload(
                improvement_action=None,
                from_version=None,
                to_version=None,
                score_impact=None,
                user_errors=user_errors(outcome.errors),
            )
        accepted, records = outcome.value
        [action_id] = accepted.action_ids
        from_version, to_version = accepted.versions[action_id]
        return AcceptActionUpdatePayload(
            improvement_action=ImprovementAction.from_record(records[0]) if records else None,
            from_version=from_version,
            to_version=to_version,
            score_impact=ScoreImpact.of(accepted.impact),
            user_errors=[],
        )

    @strawberry.mutation(
        description="Accept every pending action update at once (administrators); reports "
        "how many and how the scores moved."
    )
    async def accept_all_action_updates(
        self, info: strawberry.Info, input: AcceptAllActionUpdatesInput
    ) -> AcceptAllActionUpdatesPayload:
        outcome = await updates.accept_all_action_updates(info, input)
        accepted = outcome.value
        return AcceptAllActionUpdatesPayload(
            accepted_count=accepted.accepted_count if accepted else None,
            score_impact=ScoreImpact.of(accepted.impact) if accepted else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(
        description="Move an active assessment to its template's latest version "
        "(administrators): controls and mappings added, removed and re-worded."
    )
    async def accept_assessment_update(
        self, info: strawberry.Info, input: AcceptAssessmentUpdateInput
    ) -> AcceptAssessmentUpdatePayload:
        outcome = await updates.accept_assessment_update(info, input)
        accepted = outcome.value
        if accepted is None:
            return AcceptAssessmentUpdatePayload(
                assessment=None,
                applied=None,
                actions_created=None,
                actions_removed=None,
                score_before=None,
                score_after=None,
                user_errors=user_errors(outcome.errors),
            )
        return AcceptAssessmentUpdatePayload(
            assessment=Assessment.from_row(accepted.assessment),
            applied=TemplateUpdateChanges.of(accepted.applied),
            actions_created=accepted.actions_created,
            actions_removed=accepted.actions_removed,
            score_before=Score.of(accepted.before),
            score_after=Score.of(accepted.after),
            user_errors=[],
        )
