"""Mutations: evidence links and deletion (DOMAIN.md section 6).

Files are uploaded with ``POST /evidence/upload`` (``cmgraph.evidence_http``) so that they
stream to storage instead of passing through the GraphQL request body.
"""

from __future__ import annotations

import strawberry

from cmgraph.domain import evidence as service
from cmgraph.resolvers.mutations.actions import load_actions
from cmgraph.resolvers.mutations.base import node_id, perform
from cmgraph.schema.mutations.evidence import (
    AddEvidenceLinkInput,
    AddEvidenceLinkPayload,
    DeleteEvidenceInput,
    DeleteEvidencePayload,
)
from cmgraph.schema.types import Evidence, ImprovementAction


async def _action(info: strawberry.Info, action_id: int | None) -> ImprovementAction | None:
    actions = await load_actions(info, [action_id]) if action_id is not None else []
    return actions[0] if actions else None


@strawberry.type
class EvidenceMutations:
    @strawberry.mutation(description="Attach a named http(s) link to an action.")
    async def add_evidence_link(
        self, info: strawberry.Info, input: AddEvidenceLinkInput
    ) -> AddEvidenceLinkPayload:
        outcome = await perform(
            info,
            lambda uow, actor: service.add_evidence_link(
                uow,
                actor,
                node_id(input.action_id, "ImprovementAction", "actionId"),
                input.name,
                input.url,
            ),
        )
        row = outcome.value
        return AddEvidenceLinkPayload(
            evidence=Evidence.from_row(row) if row else None,
            improvement_action=await _action(info, row.action_id if row else None),
            user_errors=outcome.user_errors,
        )

    @strawberry.mutation(
        description="Remove a link or document; refused once the action passed, failed or is "
        "out of scope."
    )
    async def delete_evidence(
        self, info: strawberry.Info, input: DeleteEvidenceInput
    ) -> DeleteEvidencePayload:
        outcome = await perform(
            info,
            lambda uow, actor: service.delete_evidence(
                uow, actor, node_id(input.evidence_id, "Evidence", "evidenceId")
            ),
        )
        row = outcome.value
        return DeleteEvidencePayload(
            deleted_evidence_id=input.evidence_id if row else None,
            improvement_action=await _action(info, row.action_id if row else None),
            user_errors=outcome.user_errors,
        )
