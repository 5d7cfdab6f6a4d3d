"""Mutations: importing templates from workbooks (administrators)."""

from __future__ import annotations

import io
from typing import IO, Any

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.permissions import Principal
from cmgraph.domain.templates import TemplateImport
from cmgraph.export.reading import RowError, WorkbookRejected
from cmgraph.export.template_workbook import import_template_workbook
from cmgraph.resolvers.mutations.base import perform
from cmgraph.schema.imports import ImportRowError
from cmgraph.schema.mutations.templates import (
    ImportTemplateWorkbookInput,
    ImportTemplateWorkbookPayload,
)
from cmgraph.schema.types import Template


def _upload(value: Any) -> tuple[IO[bytes], str]:
    """The uploaded file and its name; anything else reads as an empty (non-xlsx) file."""
    handle = getattr(value, "file", None)
    if handle is None:
        return io.BytesIO(), "upload.xlsx"
    return handle, getattr(value, "filename", None) or "upload.xlsx"


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
        handle, filename = _upload(input.file)
        rejected: list[RowError] = []

        async def work(uow: UnitOfWork, actor: Principal) -> TemplateImport:
            try:
                return await import_template_workbook(uow, actor, handle, filename)
            except WorkbookRejected as exc:
                rejected.extend(exc.errors)
                raise

        outcome = await perform(info, work)
        result = outcome.value
        if result is None:
            return ImportTemplateWorkbookPayload(
                template=None,
                template_created=None,
                version_created=None,
                version=None,
                actions_pending_update=None,
                assessments_pending_update=None,
                row_errors=[ImportRowError.of(e) for e in rejected],
                user_errors=outcome.user_errors,
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
