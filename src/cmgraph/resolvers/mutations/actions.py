"""Mutations: implementation, testing and assignment (DOMAIN.md sections 4 and 11)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import assignment, workflow
from cmgraph.domain.action_records import ActionRecord, action_select
from cmgraph.domain.models import ImprovementAction as ActionRow
from cmgraph.domain.permissions import Principal, readable_actions
from cmgraph.resolvers.mutations.base import node_id, perform
from cmgraph.schema.mutations.actions import (
    AssignImprovementActionsInput,
    AssignImprovementActionsPayload,
    DeleteUserHistoryInput,
    DeleteUserHistoryPayload,
    ReassignUserActionsInput,
    ReassignUserActionsPayload,
    UpdateActionPayload,
    UpdateImplementationInput,
    UpdateTestingInput,
)
from cmgraph.schema.types import ImprovementAction


def provided(input: Any, *names: str) -> dict[str, Any]:
    """The input fields the client actually sent, by domain field name."""
    return {n: getattr(input, n) for n in names if getattr(input, n) is not strawberry.UNSET}


async def read_actions(
    uow: UnitOfWork, actor: Principal, ids: Iterable[int]
) -> list[ImprovementAction]:
    """The actions as the transaction leaves them (those ``actor`` may read), for the reply.

    Read inside the transaction, not after it: a read that failed after the commit would
    report a committed change as an error (see ``base``). One statement either way.
    """
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    await uow.session.flush()
    rows = await uow.session.execute(
        action_select()
        .where(ActionRow.id.in_(wanted), readable_actions(actor))
        .execution_options(populate_existing=True)
    )
    found = {a.id: ImprovementAction.from_record(ActionRecord(a, d, v)) for a, d, v in rows}
    return [found[i] for i in wanted if i in found]


async def _update(info: strawberry.Info, input: Any, names: tuple[str, ...]) -> UpdateActionPayload:
    changes = provided(input, *names)
    for notes in ("implementation_notes", "testing_notes", "additional_notes"):
        if notes in changes and changes[notes] is None:
            changes[notes] = ""
    for status in ("implementation_status", "test_status"):
        if status in changes and changes[status] is None:
            changes.pop(status)  # a status cannot be cleared, only changed

    async def work(uow: UnitOfWork, actor: Principal) -> list[ImprovementAction]:
        action_id = node_id(input.action_id, "ImprovementAction", "actionId")
        action = await workflow.change_action(
            uow, actor, action_id, changes, expected_version=input.version
        )
        return await read_actions(uow, actor, [action.id])

    outcome = await perform(info, work)
    actions = outcome.value or []
    return UpdateActionPayload(
        improvement_action=actions[0] if actions else None, user_errors=outcome.user_errors
    )


@strawberry.type
class ActionMutations:
    @strawberry.mutation(description="Change implementation status, date or notes.")
    async def update_implementation(
        self, info: strawberry.Info, input: UpdateImplementationInput
    ) -> UpdateActionPayload:
        return await _update(info, input, workflow.IMPLEMENTATION_FIELDS)

    @strawberry.mutation(
        description="Change test status, date, testing notes (assessors) or additional notes."
    )
    async def update_testing(
        self, info: strawberry.Info, input: UpdateTestingInput
    ) -> UpdateActionPayload:
        return await _update(info, input, (*workflow.TESTING_FIELDS, *workflow.OTHER_FIELDS))

    @strawberry.mutation(description="Assign, reassign or (with no assignee) unassign actions.")
    async def assign_improvement_actions(
        self, info: strawberry.Info, input: AssignImprovementActionsInput
    ) -> AssignImprovementActionsPayload:
        async def work(uow: UnitOfWork, actor: Principal) -> list[ImprovementAction]:
            ids = [node_id(g, "ImprovementAction", "actionIds") for g in input.action_ids]
            assignee = (
                node_id(input.assignee_id, "User", "assigneeId") if input.assignee_id else None
            )
            assigned = await assignment.assign_actions(
                uow, actor, ids, assignee, notes=input.notes, notify=input.notify
            )
            return await read_actions(uow, actor, [a.id for a in assigned])

        outcome = await perform(info, work)
        return AssignImprovementActionsPayload(
            improvement_actions=outcome.value or [], user_errors=outcome.user_errors
        )

    @strawberry.mutation(description="Move all of one user's actions to another user.")
    async def reassign_user_actions(
        self, info: strawberry.Info, input: ReassignUserActionsInput
    ) -> ReassignUserActionsPayload:
        outcome = await perform(
            info,
            lambda uow, actor: assignment.reassign_user_actions(
                uow,
                actor,
                node_id(input.from_user_id, "User", "fromUserId"),
                node_id(input.to_user_id, "User", "toUserId"),
                notify=input.notify,
            ),
        )
        return ReassignUserActionsPayload(
            reassigned_count=len(outcome.value) if outcome.value is not None else None,
            user_errors=outcome.user_errors,
        )

    @strawberry.mutation(
        description="Unassign a user everywhere and show them as a removed user on evidence "
        "and history. Owners only."
    )
    async def delete_user_history(
        self, info: strawberry.Info, input: DeleteUserHistoryInput
    ) -> DeleteUserHistoryPayload:
        outcome = await perform(
            info,
            lambda uow, actor: assignment.delete_user_history(
                uow, actor, node_id(input.user_id, "User", "userId")
            ),
        )
        return DeleteUserHistoryPayload(
            unassigned_count=outcome.value, user_errors=outcome.user_errors
        )
