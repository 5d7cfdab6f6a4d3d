"""Inputs and payloads: assessments and groups."""

from __future__ import annotations

import strawberry

from cmgraph.resolvers.mutations import assessments
from cmgraph.schema.errors import UserError, user_errors
from cmgraph.schema.types import Assessment, Group


@strawberry.input
class CreateAssessmentInput:
    template_id: strawberry.ID
    name: str
    group_id: strawberry.ID | None = strawberry.field(
        default=None, description="An existing group; or give newGroupName."
    )
    new_group_name: str | None = None
    copy_from_group_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="With a new group: copy implementation, testing, notes, evidence and "
        "assignments (assignee, assignment notes, due date; an assignee who may not read the "
        "new assessment is left out) from this group's actions.",
    )


@strawberry.type
class CreateAssessmentPayload:
    assessment: Assessment | None
    user_errors: list[UserError]


@strawberry.input
class RenameAssessmentInput:
    assessment_id: strawberry.ID
    name: str


@strawberry.type
class RenameAssessmentPayload:
    assessment: Assessment | None
    user_errors: list[UserError]


@strawberry.input
class RenameGroupInput:
    group_id: strawberry.ID
    name: str


@strawberry.type
class RenameGroupPayload:
    group: Group | None
    user_errors: list[UserError]


@strawberry.input
class ArchiveAssessmentInput:
    assessment_id: strawberry.ID


@strawberry.type
class ArchiveAssessmentPayload:
    assessment: Assessment | None
    user_errors: list[UserError]


@strawberry.input
class DeleteAssessmentInput:
    assessment_id: strawberry.ID


@strawberry.type
class DeleteAssessmentPayload:
    deleted_assessment_id: strawberry.ID | None
    actions_removed: int | None = strawberry.field(
        description="Actions that no other assessment used, removed with it."
    )
    user_errors: list[UserError]


@strawberry.type
class AssessmentMutations:
    @strawberry.mutation(description="Instantiate a template in an existing or a new group.")
    async def create_assessment(
        self, info: strawberry.Info, input: CreateAssessmentInput
    ) -> CreateAssessmentPayload:
        outcome = await assessments.create_assessment(info, input)
        return CreateAssessmentPayload(
            assessment=Assessment.from_row(outcome.value) if outcome.value else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation
    async def rename_assessment(
        self, info: strawberry.Info, input: RenameAssessmentInput
    ) -> RenameAssessmentPayload:
        outcome = await assessments.rename_assessment(info, input)
        return RenameAssessmentPayload(
            assessment=Assessment.from_row(outcome.value) if outcome.value else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Rename a group; an assessment's group never changes.")
    async def rename_group(
        self, info: strawberry.Info, input: RenameGroupInput
    ) -> RenameGroupPayload:
        outcome = await assessments.rename_group(info, input)
        return RenameGroupPayload(
            group=Group.from_row(outcome.value) if outcome.value else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Make an assessment read-only and freeze its score.")
    async def archive_assessment(
        self, info: strawberry.Info, input: ArchiveAssessmentInput
    ) -> ArchiveAssessmentPayload:
        outcome = await assessments.archive_assessment(info, input)
        return ArchiveAssessmentPayload(
            assessment=Assessment.from_row(outcome.value) if outcome.value else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Delete for good, with the actions only it used.")
    async def delete_assessment(
        self, info: strawberry.Info, input: DeleteAssessmentInput
    ) -> DeleteAssessmentPayload:
        outcome = await assessments.delete_assessment(info, input)
        deletion = outcome.value
        return DeleteAssessmentPayload(
            deleted_assessment_id=input.assessment_id if deletion else None,
            actions_removed=deletion.actions_removed if deletion else None,
            user_errors=user_errors(outcome.errors),
        )
