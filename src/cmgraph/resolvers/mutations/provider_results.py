"""Mutations: a provider's attested result for one of its actions (DOMAIN.md section 14)."""

from __future__ import annotations

from typing import Any

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import provider_results
from cmgraph.domain.action_records import ActionRecord
from cmgraph.domain.permissions import Principal
from cmgraph.domain.workflow import PROVIDER_FIELDS
from cmgraph.resolvers.mutations.actions import action_changes, read_action
from cmgraph.resolvers.mutations.base import Outcome, node_id, perform


async def record_provider_result(info: strawberry.Info, input: Any) -> Outcome[ActionRecord | None]:
    changes = action_changes(input, PROVIDER_FIELDS)

    async def work(uow: UnitOfWork, actor: Principal) -> ActionRecord | None:
        action = await provider_results.record_provider_result(
            uow,
            actor,
            node_id(input.action_id, "ImprovementAction", "actionId"),
            changes,
            expected_version=input.version,
        )
        return await read_action(uow, actor, action.id)

    return await perform(info, work)
