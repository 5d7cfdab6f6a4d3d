"""Inputs and payloads: evidence links, review-by dates and deletion (files upload over HTTP)."""

from __future__ import annotations

from datetime import date

import strawberry

from cmgraph.resolvers.mutations import evidence as resolve
from cmgraph.schema.errors import UserError, user_errors
from cmgraph.schema.types import Evidence, ImprovementAction


@strawberry.input
class AddEvidenceLinkInput:
    action_id: strawberry.ID
    name: str
    url: str = strawberry.field(description="An absolute http or https URL.")
    review_by: date | None = strawberry.field(
        default=None, description="Review it by this day; after it, it is expired."
    )


@strawberry.input(description="Fields left out stay as they are; null clears.")
class UpdateEvidenceInput:
    evidence_id: strawberry.ID
    review_by: date | None = strawberry.field(
        default=strawberry.UNSET,
        description="Review it by this day; after it, it is expired. A past day is allowed.",
    )


@strawberry.type
class UpdateEvidencePayload:
    evidence: Evidence | None
    improvement_action: ImprovementAction | None
    user_errors: list[UserError]


@strawberry.type
class AddEvidenceLinkPayload:
    evidence: Evidence | None
    improvement_action: ImprovementAction | None
    user_errors: list[UserError]


@strawberry.input
class DeleteEvidenceInput:
    evidence_id: strawberry.ID


@strawberry.type
class DeleteEvidencePayload:
    deleted_evidence_id: strawberry.ID | None
    improvement_action: ImprovementAction | None
    user_errors: list[UserError]


@strawberry.type
class EvidenceMutations:
    @strawberry.mutation(description="Attach a named http(s) link to an action.")
    async def add_evidence_link(
        self, info: strawberry.Info, input: AddEvidenceLinkInput
    ) -> AddEvidenceLinkPayload:
        outcome = await resolve.add_evidence_link(info, input)
        row, action = outcome.value or (None, None)
        return AddEvidenceLinkPayload(
            evidence=Evidence.from_row(row) if row else None,
            improvement_action=ImprovementAction.from_record(action) if action else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(
        description="Change a link's or document's review-by date (contributors); allowed "
        "whatever the action's test status."
    )
    async def update_evidence(
        self, info: strawberry.Info, input: UpdateEvidenceInput
    ) -> UpdateEvidencePayload:
        outcome = await resolve.update_evidence(info, input)
        row, action = outcome.value or (None, None)
        return UpdateEvidencePayload(
            evidence=Evidence.from_row(row) if row else None,
            improvement_action=ImprovementAction.from_record(action) if action else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(
        description="Remove a link or document; refused once the action passed, failed or is "
        "out of scope."
    )
    async def delete_evidence(
        self, info: strawberry.Info, input: DeleteEvidenceInput
    ) -> DeleteEvidencePayload:
        outcome = await resolve.delete_evidence(info, input)
        row, action = outcome.value or (None, None)
        return DeleteEvidencePayload(
            deleted_evidence_id=input.evidence_id if row else None,
            improvement_action=ImprovementAction.from_record(action) if action else None,
            user_errors=user_errors(outcome.errors),
        )
