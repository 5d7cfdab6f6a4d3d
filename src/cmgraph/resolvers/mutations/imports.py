"""Mutations: bulk updates from uploaded spreadsheets (DOMAIN.md section 13)."""

from __future__ import annotations

import strawberry

from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.export.action_import import ActionImport, import_actions
from cmgraph.resolvers.mutations.base import perform
from cmgraph.schema.errors import UserError
from cmgraph.schema.imports import ImportRowError
from cmgraph.schema.mutations.imports import (
    ImportImprovementActionsInput,
    ImportImprovementActionsPayload,
    ImportImprovementActionsSummary,
)


@strawberry.type
class ImportMutations:
    @strawberry.mutation(
        description="Bulk update from an edited `improvementActionsExport` workbook: the "
        "editable columns of every row go through the same rules as the API (history source "
        "IMPORT). A dry run (the default) reports row errors and the score impact; applying "
        "is all or nothing."
    )
    async def import_improvement_actions(
        self, info: strawberry.Info, input: ImportImprovementActionsInput
    ) -> ImportImprovementActionsPayload:
        handle = getattr(input.file, "file", None)
        if handle is None:
            error = DomainError(
                ErrorCode.INVALID,
                "Send the workbook as a file of a multipart request (GraphQL multipart "
                "request spec).",
                "file",
            )
            return ImportImprovementActionsPayload(
                applied=False, row_errors=[], summary=None, user_errors=[UserError.of(error)]
            )
        outcome = await perform(
            info,
            lambda uow, actor: import_actions(
                uow, actor, handle, dry_run=input.dry_run, notify=input.notify_assignees
            ),
        )
        result: ActionImport | None = outcome.value
        if result is None:
            return ImportImprovementActionsPayload(
                applied=False, row_errors=[], summary=None, user_errors=outcome.user_errors
            )
        user_errors = []
        if result.file_rejected:
            message = "; ".join(e.message for e in result.errors)
            user_errors.append(UserError.of(DomainError(ErrorCode.INVALID, message, "file")))
        return ImportImprovementActionsPayload(
            applied=result.applied,
            row_errors=[ImportRowError.of(e) for e in result.errors],
            summary=None if result.file_rejected else ImportImprovementActionsSummary.of(result),
            user_errors=user_errors,
        )
