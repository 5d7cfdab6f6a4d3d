"""Inputs and payloads: assessments and groups."""

from __future__ import annotations

import strawberry

from cmgraph.schema.errors import UserError
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
        description="With a new group: copy implementation, testing, notes and evidence from "
        "this group's actions.",
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
