"""Inputs and payloads: evidence links and evidence deletion (files upload over HTTP)."""

from __future__ import annotations

import strawberry

from cmgraph.schema.errors import UserError
from cmgraph.schema.types import Evidence, ImprovementAction


@strawberry.input
class AddEvidenceLinkInput:
    action_id: strawberry.ID
    name: str
    url: str = strawberry.field(description="An absolute http or https URL.")


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
