"""Mutations: testing source, automation signals, organisation settings (DOMAIN.md section 5)."""

from __future__ import annotations

from typing import Any

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import testing_sources
from cmgraph.domain.action_records import ActionRecord
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.mutations.actions import read_action
from cmgraph.resolvers.mutations.base import Outcome, node_id, perform


async def set_testing_source(info: strawberry.Info, input: Any) -> Outcome[ActionRecord | None]:
    async def work(uow: UnitOfWork, actor: Principal) -> ActionRecord | None:
        action_id = node_id(input.action_id, "ImprovementAction", "actionId")
        parent_id = (
            node_id(input.parent_id, "ImprovementAction", "parentId")
            if input.parent_id is not None
            else None
        )
        action = await testing_sources.set_testing_source(
            uow,
            actor,
            action_id,
            input.testing_source,
            parent_id=parent_id,
            expected_version=input.version,
        )
        return await read_action(uow, actor, action.id)

    return await perform(info, work)


async def record_automation_result(
    info: strawberry.Info, input: Any
) -> Outcome[ActionRecord | None]:
    async def work(uow: UnitOfWork, actor: Principal) -> ActionRecord | None:
        action = await testing_sources.record_automation_result(
            uow,
            actor,
            node_id(input.action_id, "ImprovementAction", "actionId"),
            input.implementation_status,
            input.test_status,
            input.fraction,
        )
        return await read_action(uow, actor, action.id)

    return await perform(info, work)


async def update_organisation_settings(
    info: strawberry.Info, input: Any
) -> Outcome[testing_sources.SettingsUpdate]:
    async def work(uow: UnitOfWork, actor: Principal) -> testing_sources.SettingsUpdate:
        return await testing_sources.update_organisation_settings(
            uow,
            actor,
            automatic_testing=input.automatic_testing,
            due_soon_days=input.due_soon_days,
            retest_loses_points=input.retest_loses_points,
        )

    return await perform(info, work)
