"""Input and payload of importing a template workbook (DOMAIN.md section 13)."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from cmgraph.schema.errors import UserError
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
