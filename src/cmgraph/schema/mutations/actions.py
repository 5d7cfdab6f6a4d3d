"""Mutations: implementation, testing and assignment of improvement actions."""

from __future__ import annotations

from datetime import date

import strawberry

from cmgraph.domain import calendar
from cmgraph.domain.action_records import ActionRecord
from cmgraph.resolvers.mutations import actions
from cmgraph.resolvers.mutations.base import Outcome
from cmgraph.schema.enums import ImplementationStatus, TestStatus
from cmgraph.schema.errors import UserError, user_errors
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


@strawberry.input(description="Planning fields. Fields left out stay as they are; null clears.")
class UpdateImprovementActionInput:
    action_id: strawberry.ID
    version: int = strawberry.field(description=VERSION_HELP)
    due_date: date | None = strawberry.field(
        default=strawberry.UNSET,
        description="A past day is allowed (an imported backlog is overdue at once); at most "
        f"{calendar.MAX_DAYS_AHEAD} days ahead or {calendar.MAX_DAYS_BEHIND} behind.",
    )
    retest_interval_days: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"Retest every 1 to {calendar.MAX_RETEST_INTERVAL_DAYS} days once passed; "
        "null follows the definition's default.",
    )


@strawberry.type
class UpdateActionPayload:
    improvement_action: ImprovementAction | None
    user_errors: list[UserError]

    @classmethod
    def of(cls, outcome: Outcome[ActionRecord | None]) -> UpdateActionPayload:
        record = outcome.value
        return cls(
            improvement_action=ImprovementAction.from_record(record) if record else None,
            user_errors=user_errors(outcome.errors),
        )


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
    due_date: date | None = strawberry.field(
        default=None,
        description="Sets each action's due date (as updateImprovementAction does); null keeps "
        "the current ones.",
    )
    grant_access: bool = strawberry.field(
        default=False,
        description="Owners only: give an assignee who cannot read an action a CONTRIBUTOR "
        "grant on each of its live assessments, in the same change (else the assignment is "
        "refused with ASSIGNEE_CANNOT_READ).",
    )


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


@strawberry.type
class ActionMutations:
    @strawberry.mutation(description="Change implementation status, date or notes.")
    async def update_implementation(
        self, info: strawberry.Info, input: UpdateImplementationInput
    ) -> UpdateActionPayload:
        return UpdateActionPayload.of(await actions.update_implementation(info, input))

    @strawberry.mutation(
        description="Change test status, date, testing notes (assessors) or additional notes."
    )
    async def update_testing(
        self, info: strawberry.Info, input: UpdateTestingInput
    ) -> UpdateActionPayload:
        return UpdateActionPayload.of(await actions.update_testing(info, input))

    @strawberry.mutation(
        description="Change an action's planning: due date and re-testing cadence "
        "(contributors, whatever the testing source)."
    )
    async def update_improvement_action(
        self, info: strawberry.Info, input: UpdateImprovementActionInput
    ) -> UpdateActionPayload:
        return UpdateActionPayload.of(await actions.update_improvement_action(info, input))

    @strawberry.mutation(description="Assign, reassign or (with no assignee) unassign actions.")
    async def assign_improvement_actions(
        self, info: strawberry.Info, input: AssignImprovementActionsInput
    ) -> AssignImprovementActionsPayload:
        outcome = await actions.assign_improvement_actions(info, input)
        return AssignImprovementActionsPayload(
            improvement_actions=[ImprovementAction.from_record(r) for r in outcome.value or []],
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Move all of one user's actions to another user.")
    async def reassign_user_actions(
        self, info: strawberry.Info, input: ReassignUserActionsInput
    ) -> ReassignUserActionsPayload:
        outcome = await actions.reassign_user_actions(info, input)
        return ReassignUserActionsPayload(
            reassigned_count=len(outcome.value) if outcome.value is not None else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(
        description="Unassign a user everywhere and show them as a removed user on evidence "
        "and history. Owners only."
    )
    async def delete_user_history(
        self, info: strawberry.Info, input: DeleteUserHistoryInput
    ) -> DeleteUserHistoryPayload:
        outcome = await actions.delete_user_history(info, input)
        return DeleteUserHistoryPayload(
            unassigned_count=outcome.value, user_errors=user_errors(outcome.errors)
        )
