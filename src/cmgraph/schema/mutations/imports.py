"""Inputs and payloads of spreadsheet bulk updates (DOMAIN.md section 13)."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.exchange import action_import
from cmgraph.resolvers.mutations import imports
from cmgraph.schema.errors import UserError, user_errors
from cmgraph.schema.imports import ImportRowError
from cmgraph.schema.types import Assessment, Score, loaders


@strawberry.input(
    description="An edited improvement actions export (see `improvementActionsExport`), sent as "
    "a multipart upload with the header `X-CMGraph-CSRF: 1`."
)
class ImportImprovementActionsInput:
    file: Upload = strawberry.field(description="The workbook (.xlsx).")
    dry_run: bool = strawberry.field(
        default=True,
        description="Only check the rows and report the score impact; nothing is applied.",
    )
    notify_assignees: bool = strawberry.field(
        default=True,
        description="Email the users the import assigns actions to, as "
        "`assignImprovementActions` does.",
    )


@strawberry.type(description="An active assessment an import changes, with its stored score.")
class ImportScoreChange:
    before: Score
    after: Score
    delta: float = strawberry.field(description="Points earned after minus before.")
    assessment_id: strawberry.Private[int]

    @strawberry.field
    async def assessment(self, info: strawberry.Info) -> Assessment | None:
        row = await loaders(info).assessment.load(self.assessment_id)
        return Assessment.from_row(row) if row is not None else None


@strawberry.type(description="What an import changes (a dry run: would change).")
class ImportImprovementActionsSummary:
    rows_read: int = strawberry.field(description="Data rows in the sheet, blank rows aside.")
    actions_changed: int = strawberry.field(
        description="Rows that change their action; unchanged rows are skipped."
    )
    assessments_affected: list[ImportScoreChange] = strawberry.field(
        description="Active assessments you can read that hold a changed action or whose "
        "score moves."
    )
    overall_before: Score = strawberry.field(
        description="Distinct actions of the active assessments you can read, before."
    )
    overall_after: Score
    overall_delta: float

    @classmethod
    def of(cls, result: action_import.ActionImport) -> ImportImprovementActionsSummary:
        return cls(
            rows_read=result.rows_read,
            actions_changed=result.actions_changed,
            assessments_affected=[
                ImportScoreChange(
                    before=Score.of(a.before),
                    after=Score.of(a.after),
                    delta=a.delta,
                    assessment_id=a.assessment_id,
                )
                for a in result.assessments
            ],
            overall_before=Score.of(result.overall_before),
            overall_after=Score.of(result.overall_after),
            overall_delta=result.overall_delta,
        )


@strawberry.type
class ImportImprovementActionsPayload:
    applied: bool = strawberry.field(
        description="True once every row was applied; false for a dry run or any row error."
    )
    row_errors: list[ImportRowError] = strawberry.field(
        description="Every problem found, by row and column; nothing is applied if any."
    )
    summary: ImportImprovementActionsSummary | None = strawberry.field(
        description="Null when the file as a whole could not be read."
    )
    user_errors: list[UserError] = strawberry.field(
        description="INVALID when the file as a whole is refused (also in rowErrors)."
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
        outcome = await imports.import_improvement_actions(info, input)
        result = outcome.value
        if result is None:
            return ImportImprovementActionsPayload(
                applied=False,
                row_errors=[],
                summary=None,
                user_errors=user_errors(outcome.errors),
            )
        refused: list[DomainError] = []
        if result.file_rejected:
            message = "; ".join(e.message for e in result.errors)
            refused.append(DomainError(ErrorCode.INVALID, message, "file"))
        return ImportImprovementActionsPayload(
            applied=result.applied,
            row_errors=[ImportRowError.of(e) for e in result.errors],
            summary=None if result.file_rejected else ImportImprovementActionsSummary.of(result),
            user_errors=user_errors(refused),
        )
