"""Mutations: assessments and groups (DOMAIN.md section 9)."""

from __future__ import annotations

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import assessments as service
from cmgraph.domain.models import Assessment as AssessmentRow
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.mutations.base import node_id, perform
from cmgraph.schema.mutations.assessments import (
    ArchiveAssessmentInput,
    ArchiveAssessmentPayload,
    CreateAssessmentInput,
    CreateAssessmentPayload,
    DeleteAssessmentInput,
    DeleteAssessmentPayload,
    RenameAssessmentInput,
    RenameAssessmentPayload,
    RenameGroupInput,
    RenameGroupPayload,
)
from cmgraph.schema.types import Assessment, Group


def _optional_id(gid: str | None, type_name: str, field: str) -> int | None:
    return None if gid is None else node_id(gid, type_name, field)


@strawberry.type
class AssessmentMutations:
    @strawberry.mutation(description="Instantiate a template in an existing or a new group.")
    async def create_assessment(
        self, info: strawberry.Info, input: CreateAssessmentInput
    ) -> CreateAssessmentPayload:
        async def work(uow: UnitOfWork, actor: Principal) -> AssessmentRow:
            request = service.NewAssessment(
                template_id=node_id(input.template_id, "Template", "templateId"),
                name=input.name,
                group_id=_optional_id(input.group_id, "Group", "groupId"),
                new_group_name=input.new_group_name,
                copy_from_group_id=_optional_id(
                    input.copy_from_group_id, "Group", "copyFromGroupId"
                ),
            )
            return await service.create_assessment(uow, actor, request)

        outcome = await perform(info, work)
        return CreateAssessmentPayload(
            assessment=Assessment.from_row(outcome.value) if outcome.value else None,
            user_errors=outcome.user_errors,
        )

    @strawberry.mutation
    async def rename_assessment(
        self, info: strawberry.Info, input: RenameAssessmentInput
    ) -> RenameAssessmentPayload:
        outcome = await perform(
            info,
            lambda uow, actor: service.rename_assessment(
                uow, actor, node_id(input.assessment_id, "Assessment", "assessmentId"), input.name
            ),
        )
        return RenameAssessmentPayload(
            assessment=Assessment.from_row(outcome.value) if outcome.value else None,
            user_errors=outcome.user_errors,
        )

    @strawberry.mutation(description="Rename a group; an assessment's group never changes.")
    async def rename_group(
        self, info: strawberry.Info, input: RenameGroupInput
    ) -> RenameGroupPayload:
        outcome = await perform(
            info,
            lambda uow, actor: service.rename_group(
                uow, actor, node_id(input.group_id, "Group", "groupId"), input.name
            ),
        )
        return RenameGroupPayload(
            group=Group.from_row(outcome.value) if outcome.value else None,
            user_errors=outcome.user_errors,
        )

    @strawberry.mutation(description="Make an assessment read-only and freeze its score.")
    async def archive_assessment(
        self, info: strawberry.Info, input: ArchiveAssessmentInput
    ) -> ArchiveAssessmentPayload:
        outcome = await perform(
            info,
            lambda uow, actor: service.archive_assessment(
                uow, actor, node_id(input.assessment_id, "Assessment", "assessmentId")
            ),
        )
        return ArchiveAssessmentPayload(
            assessment=Assessment.from_row(outcome.value) if outcome.value else None,
            user_errors=outcome.user_errors,
        )

    @strawberry.mutation(description="Delete for good, with the actions only it used.")
    async def delete_assessment(
        self, info: strawberry.Info, input: DeleteAssessmentInput
    ) -> DeleteAssessmentPayload:
        outcome = await perform(
            info,
            lambda uow, actor: service.delete_assessment(
                uow, actor, node_id(input.assessment_id, "Assessment", "assessmentId")
            ),
        )
        deletion = outcome.value
        return DeleteAssessmentPayload(
            deleted_assessment_id=input.assessment_id if deletion else None,
            actions_removed=deletion.actions_removed if deletion else None,
            user_errors=outcome.user_errors,
        )
