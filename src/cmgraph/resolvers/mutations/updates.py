"""Mutations: accepting definition and template updates (DOMAIN.md sections 9 and 10)."""

from __future__ import annotations

from typing import Any

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import updates as service
from cmgraph.domain.action_records import ActionRecord
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.mutations.actions import read_actions
from cmgraph.resolvers.mutations.base import Outcome, node_id, perform


async def accept_action_update(
    info: strawberry.Info, input: Any
) -> Outcome[tuple[service.AcceptedActions, list[ActionRecord]]]:
    async def work(
        uow: UnitOfWork, actor: Principal
    ) -> tuple[service.AcceptedActions, list[ActionRecord]]:
        accepted = await service.accept_action_update(
            uow, actor, node_id(input.action_id, "ImprovementAction", "actionId")
        )
        return accepted, await read_actions(uow, actor, accepted.action_ids)

    return await perform(info, work)


async def accept_all_action_updates(
    info: strawberry.Info, input: Any
) -> Outcome[service.AcceptedActions]:
    async def work(uow: UnitOfWork, actor: Principal) -> service.AcceptedActions:
        ids = (
            None
            if input.assessment_ids is None
            else [node_id(g, "Assessment", "assessmentIds") for g in input.assessment_ids]
        )
        return await service.accept_all_action_updates(uow, actor, ids)

    return await perform(info, work)


async def accept_assessment_update(
    info: strawberry.Info, input: Any
) -> Outcome[service.AcceptedTemplateUpdate]:
    return await perform(
        info,
        lambda uow, actor: service.accept_assessment_update(
            uow, actor, node_id(input.assessment_id, "Assessment", "assessmentId")
        ),
    )
