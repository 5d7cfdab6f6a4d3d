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
from cmgraph.resolvers.mutations.base import Outcome, node_id, perform


def provided(input: Any, *names: str) -> dict[str, Any]:
    """The input fields the client actually sent, by domain field name."""
    return {n: getattr(input, n) for n in names if getattr(input, n) is not strawberry.UNSET}


def action_changes(input: Any, names: Iterable[str]) -> dict[str, Any]:
    """The action fields the client sent, as ``change_action`` takes them: null clears notes
    and leaves a status alone (a status cannot be cleared, only changed)."""
    changes = provided(input, *names)
    for notes in ("implementation_notes", "testing_notes", "additional_notes"):
        if notes in changes and changes[notes] is None:
            changes[notes] = ""
    for status in ("implementation_status", "test_status"):
        if status in changes and changes[status] is None:
            changes.pop(status)
    return changes


async def read_actions(uow: UnitOfWork, actor: Principal, ids: Iterable[int]) -> list[ActionRecord]:
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
    found = {a.id: ActionRecord(a, d, v) for a, d, v in rows}
    return [found[i] for i in wanted if i in found]


async def read_action(uow: UnitOfWork, actor: Principal, action_id: int) -> ActionRecord | None:
    """One action for the reply of a change to it; None if ``actor`` may not read it."""
    actions = await read_actions(uow, actor, [action_id])
    return actions[0] if actions else None


async def _update(
    info: strawberry.Info, input: Any, names: tuple[str, ...]
) -> Outcome[ActionRecord | None]:
    changes = action_changes(input, names)

    async def work(uow: UnitOfWork, actor: Principal) -> ActionRecord | None:
        action_id = node_id(input.action_id, "ImprovementAction", "actionId")
        action = await workflow.change_action(
            uow, actor, action_id, changes, expected_version=input.version
        )
        return await read_action(uow, actor, action.id)

    return await perform(info, work)


async def update_implementation(info: strawberry.Info, input: Any) -> Outcome[ActionRecord | None]:
    return await _update(info, input, workflow.IMPLEMENTATION_FIELDS)


async def update_testing(info: strawberry.Info, input: Any) -> Outcome[ActionRecord | None]:
    return await _update(info, input, (*workflow.TESTING_FIELDS, *workflow.OTHER_FIELDS))


async def update_improvement_action(
    info: strawberry.Info, input: Any
) -> Outcome[ActionRecord | None]:
    return await _update(info, input, workflow.PLANNING_FIELDS)


async def assign_improvement_actions(
    info: strawberry.Info, input: Any
) -> Outcome[list[ActionRecord]]:
    async def work(uow: UnitOfWork, actor: Principal) -> list[ActionRecord]:
        ids = [node_id(g, "ImprovementAction", "actionIds") for g in input.action_ids]
        assignee = node_id(input.assignee_id, "User", "assigneeId") if input.assignee_id else None
        assigned = await assignment.assign_actions(
            uow,
            actor,
            ids,
            assignee,
            notes=input.notes,
            notify=input.notify,
            grant_access=input.grant_access,
            due_date=input.due_date,
        )
        return await read_actions(uow, actor, [a.id for a in assigned])

    return await perform(info, work)


async def reassign_user_actions(info: strawberry.Info, input: Any) -> Outcome[list[ActionRow]]:
    return await perform(
        info,
        lambda uow, actor: assignment.reassign_user_actions(
            uow,
            actor,
            node_id(input.from_user_id, "User", "fromUserId"),
            node_id(input.to_user_id, "User", "toUserId"),
            notify=input.notify,
        ),
    )


async def delete_user_history(info: strawberry.Info, input: Any) -> Outcome[int]:
    return await perform(
        info,
        lambda uow, actor: assignment.delete_user_history(
            uow, actor, node_id(input.user_id, "User", "userId")
        ),
    )
