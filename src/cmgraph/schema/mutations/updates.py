"""Inputs, payloads and views of pending updates (DOMAIN.md sections 9 and 10).

``FieldChange`` and ``TemplateUpdateChanges`` are also what ``ImprovementAction`` and
``Assessment`` show as ``pendingUpdateChanges`` (referenced lazily from ``schema.types``).
"""

from __future__ import annotations

import strawberry

from cmgraph.domain import updates
from cmgraph.schema.errors import UserError
from cmgraph.schema.types import Assessment, ImprovementAction, Score, loaders

# ``strawberry.enum`` registers the class it is given and returns it: the name is the domain
# class itself (an alias mypy accepts as a type), registered by a plain call.
DefinitionField = updates.DefinitionField
strawberry.enum(DefinitionField, description="A field of an action definition version.")


@strawberry.type(description="One field a newer definition version changes.")
class FieldChange:
    field: DefinitionField
    current_value: str = strawberry.field(description="As accepted now.")
    new_value: str = strawberry.field(description="In the latest definition version.")

    @classmethod
    def of(cls, change: updates.FieldChange) -> FieldChange:
        return cls(field=change.field, current_value=change.current, new_value=change.new)


@strawberry.type(description="A control-to-action link of a template, by keys.")
class ControlActionMapping:
    control_key: str
    action_key: str


@strawberry.type(
    description="What moving from one template version to another changes. Mappings of "
    "added or removed controls count as added or removed mappings."
)
class TemplateUpdateChanges:
    from_version: int
    to_version: int
    controls_added: list[str] = strawberry.field(description="Control keys, in template order.")
    controls_removed: list[str]
    controls_changed: list[str] = strawberry.field(
        description="Controls whose family, title or text changed."
    )
    mappings_added: list[ControlActionMapping]
    mappings_removed: list[ControlActionMapping]
    controls_added_count: int
    controls_removed_count: int
    controls_changed_count: int
    mappings_added_count: int
    mappings_removed_count: int

    @classmethod
    def of(cls, diff: updates.TemplateDiff) -> TemplateUpdateChanges:
        def mappings(pairs: tuple[tuple[str, str], ...]) -> list[ControlActionMapping]:
            return [ControlActionMapping(control_key=c, action_key=a) for c, a in pairs]

        return cls(
            from_version=diff.from_version,
            to_version=diff.to_version,
            controls_added=list(diff.controls_added),
            controls_removed=list(diff.controls_removed),
            controls_changed=list(diff.controls_changed),
            mappings_added=mappings(diff.mappings_added),
            mappings_removed=mappings(diff.mappings_removed),
            controls_added_count=len(diff.controls_added),
            controls_removed_count=len(diff.controls_removed),
            controls_changed_count=len(diff.controls_changed),
            mappings_added_count=len(diff.mappings_added),
            mappings_removed_count=len(diff.mappings_removed),
        )


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
