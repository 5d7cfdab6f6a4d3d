"""Input and payload of importing a template workbook (DOMAIN.md section 13)."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from cmgraph.exchange.reading import WorkbookRejected
from cmgraph.resolvers.mutations import templates
from cmgraph.schema.errors import UserError, user_errors
from cmgraph.schema.imports import ImportRowError
from cmgraph.schema.types import Template


@strawberry.input
class ImportTemplateWorkbookInput:
    file: Upload = strawberry.field(
        description="An xlsx template workbook (sheets Template, ControlFamily, Actions and "
        "optionally Dimensions), sent as a GraphQL multipart upload."
    )


@strawberry.type
class ImportTemplateWorkbookPayload:
    template: Template | None
    template_created: bool | None = strawberry.field(
        description="No template had this key (the workbook's Key, else its title's slug)."
    )
    version_created: bool | None = strawberry.field(
        description="False when the workbook matches the latest version: nothing changed."
    )
    version: int | None = strawberry.field(description="The template's latest version now.")
    actions_pending_update: int | None = strawberry.field(
        description="Improvement actions whose definition changed, now pending an update."
    )
    assessments_pending_update: int | None = strawberry.field(
        description="Live assessments of the template, now pending its new version."
    )
    row_errors: list[ImportRowError] = strawberry.field(
        description="Every problem in the workbook; when any, nothing was imported."
    )
    user_errors: list[UserError]


@strawberry.type
class TemplateMutations:
    @strawberry.mutation(
        description="Import a template workbook (administrators): a new template, or a new "
        "version of the one with the same key (the workbook's Key, else its title's slug), "
        "which makes changed actions and the template's assessments pending an update. "
        "Importing the latest version's own export changes nothing."
    )
    async def import_template_workbook(
        self, info: strawberry.Info, input: ImportTemplateWorkbookInput
    ) -> ImportTemplateWorkbookPayload:
        outcome = await templates.import_template_workbook(info, input)
        result = outcome.value
        if result is None:
            return ImportTemplateWorkbookPayload(
                template=None,
                template_created=None,
                version_created=None,
                version=None,
                actions_pending_update=None,
                assessments_pending_update=None,
                row_errors=[
                    ImportRowError.of(e)
                    for error in outcome.errors
                    if isinstance(error, WorkbookRejected)
                    for e in error.errors
                ],
                user_errors=user_errors(outcome.errors),
            )
        return ImportTemplateWorkbookPayload(
            template=Template.from_row(result.template),
            template_created=result.template_created,
            version_created=result.version_created,
            version=result.version.version,
            actions_pending_update=result.actions_pending_update,
            assessments_pending_update=result.assessments_pending_update,
            row_errors=[],
            user_errors=[],
        )
