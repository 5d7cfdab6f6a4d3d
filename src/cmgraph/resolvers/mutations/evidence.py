"""Mutations: evidence links, review-by dates and deletion (DOMAIN.md sections 6 and 15).

Files are uploaded with ``POST /evidence/upload`` (``cmgraph.http.evidence``) so that they
stream to storage instead of passing through the GraphQL request body.
"""

from __future__ import annotations

from typing import Any

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import evidence as service
from cmgraph.domain.action_records import ActionRecord
from cmgraph.domain.models import Evidence as EvidenceRow
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.mutations.actions import read_actions
from cmgraph.resolvers.mutations.base import Outcome, node_id, perform

Changed = tuple[EvidenceRow, ActionRecord | None]


async def _with_action(uow: UnitOfWork, actor: Principal, row: EvidenceRow) -> Changed:
    """The evidence row and its action as this transaction leaves it (the reply)."""
    actions = await read_actions(uow, actor, [row.action_id])
    return row, actions[0] if actions else None


async def add_evidence_link(info: strawberry.Info, input: Any) -> Outcome[Changed]:
    async def work(uow: UnitOfWork, actor: Principal) -> Changed:
        row = await service.add_evidence_link(
            uow,
            actor,
            node_id(input.action_id, "ImprovementAction", "actionId"),
            input.name,
            input.url,
            review_by=input.review_by,
        )
        return await _with_action(uow, actor, row)

    return await perform(info, work)


async def update_evidence(info: strawberry.Info, input: Any) -> Outcome[Changed]:
    async def work(uow: UnitOfWork, actor: Principal) -> Changed:
        evidence_id = node_id(input.evidence_id, "Evidence", "evidenceId")
        changes = {} if input.review_by is strawberry.UNSET else {"review_by": input.review_by}
        row = await service.update_evidence(uow, actor, evidence_id, changes)
        return await _with_action(uow, actor, row)

    return await perform(info, work)


async def delete_evidence(info: strawberry.Info, input: Any) -> Outcome[Changed]:
    async def work(uow: UnitOfWork, actor: Principal) -> Changed:
        row = await service.delete_evidence(
            uow, actor, node_id(input.evidence_id, "Evidence", "evidenceId")
        )
        return await _with_action(uow, actor, row)

    return await perform(info, work)
