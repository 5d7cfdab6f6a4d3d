"""Mutations: evidence links and deletion (DOMAIN.md section 6).

Files are uploaded with ``POST /evidence/upload`` (``cmgraph.http.evidence``) so that they
stream to storage instead of passing through the GraphQL request body.
"""

from __future__ import annotations

from typing import Any

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import evidence as service
from cmgraph.domain.models import Evidence as EvidenceRow
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.mutations.actions import read_actions
from cmgraph.resolvers.mutations.base import node_id, perform
from cmgraph.schema.mutations.evidence import (
    AddEvidenceLinkInput,
    AddEvidenceLinkPayload,
    DeleteEvidenceInput,
    DeleteEvidencePayload,
)
from cmgraph.schema.types import Evidence, ImprovementAction

Changed = tuple[EvidenceRow, ImprovementAction | None]


async def _with_action(uow: UnitOfWork, actor: Principal, row: EvidenceRow) -> Changed:
    """The evidence row and its action as this transaction leaves it (the reply)."""
    actions = await read_actions(uow, actor, [row.action_id])
    return row, actions[0] if actions else None


def _changed(value: Any) -> Changed | tuple[None, None]:
    return value if value is not None else (None, None)


@strawberry.type
class EvidenceMutations:
    @strawberry.mutation(description="Attach a named http(s) link to an action.")
    async def add_evidence_link(
        self, info: strawberry.Info, input: AddEvidenceLinkInput
    ) -> AddEvidenceLinkPayload:
        async def work(uow: UnitOfWork, actor: Principal) -> Changed:
            row = await service.add_evidence_link(
                uow,
                actor,
                node_id(input.action_id, "ImprovementAction", "actionId"),
                input.name,
                input.url,
            )
            return await _with_action(uow, actor, row)

        outcome = await perform(info, work)
        row, action = _changed(outcome.value)
        return AddEvidenceLinkPayload(
            evidence=Evidence.from_row(row) if row else None,
            improvement_action=action,
            user_errors=outcome.user_errors,
        )

    @strawberry.mutation(
        description="Remove a link or document; refused once the action passed, failed or is "
        "out of scope."
    )
    async def delete_evidence(
        self, info: strawberry.Info, input: DeleteEvidenceInput
    ) -> DeleteEvidencePayload:
        async def work(uow: UnitOfWork, actor: Principal) -> Changed:
            row = await service.delete_evidence(
                uow, actor, node_id(input.evidence_id, "Evidence", "evidenceId")
            )
            return await _with_action(uow, actor, row)

        outcome = await perform(info, work)
        row, action = _changed(outcome.value)
        return DeleteEvidencePayload(
            deleted_evidence_id=input.evidence_id if row else None,
            improvement_action=action,
            user_errors=outcome.user_errors,
        )
