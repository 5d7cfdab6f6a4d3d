"""Inputs and payloads: implementation, testing and assignment of improvement actions."""

from __future__ import annotations

from datetime import date

import strawberry

from cmgraph.schema.enums import ImplementationStatus, TestStatus
from cmgraph.schema.errors import UserError
from cmgraph.schema.types import ImprovementAction

VERSION_HELP = "The action's `version` as you last read it; a newer one gets CONFLICT."


@strawberry.input(description="Fields left out stay as they are; null clears a date.")
class UpdateImplementationInput:
    action_id: strawberry.ID
    version: int = strawberry.field(description=VERSION_HELP)
    implementation_status: ImplementationStatus | None = strawberry.UNSET
    implementation_date: date | None = strawberry.UNSET
    implementation_notes: str | None = strawberry.UNSET


@strawberry.input(description="Fields left out stay as they are; null clears a date.")
class UpdateTestingInput:
    action_id: strawberry.ID
    version: int = strawberry.field(description=VERSION_HELP)
    test_status: TestStatus | None = strawberry.UNSET
    test_date: date | None = strawberry.UNSET
    testing_notes: str | None = strawberry.UNSET
    additional_notes: str | None = strawberry.UNSET


@strawberry.type
class UpdateActionPayload:
    improvement_action: ImprovementAction | None
    user_errors: list[UserError]


@strawberry.input
class AssignImprovementActionsInput:
    action_ids: list[strawberry.ID]
    assignee_id: strawberry.ID | None = strawberry.field(
        description="The new assignee; null unassigns."
    )
    notes: str | None = strawberry.field(
        default=None, description="Stays on each action; null keeps the current notes."
    )
    notify: bool = strawberry.field(default=True, description="Email the assignee.")


@strawberry.type
class AssignImprovementActionsPayload:
    improvement_actions: list[ImprovementAction]
    user_errors: list[UserError]


@strawberry.input
class ReassignUserActionsInput:
    from_user_id: strawberry.ID
    to_user_id: strawberry.ID
    notify: bool = True


@strawberry.type
class ReassignUserActionsPayload:
    reassigned_count: int | None
    user_errors: list[UserError]


@strawberry.input
class DeleteUserHistoryInput:
    user_id: strawberry.ID


@strawberry.type
class DeleteUserHistoryPayload:
    unassigned_count: int | None
    user_errors: list[UserError]
