"""Mutations: importing templates from workbooks (administrators)."""

from __future__ import annotations

import io
from typing import IO, Any

import strawberry

from cmgraph.domain.templates import TemplateImport
from cmgraph.exchange.template_workbook import import_template_workbook as import_workbook
from cmgraph.resolvers.mutations.base import Outcome, perform


def _upload(value: Any) -> tuple[IO[bytes], str]:
    """The uploaded file and its name; anything else reads as an empty (non-xlsx) file."""
    handle = getattr(value, "file", None)
    if handle is None:
        return io.BytesIO(), "upload.xlsx"
    return handle, getattr(value, "filename", None) or "upload.xlsx"


async def import_template_workbook(info: strawberry.Info, input: Any) -> Outcome[TemplateImport]:
    """The import, or its refusal: a ``WorkbookRejected`` among the errors lists every problem."""
    handle, filename = _upload(input.file)
    return await perform(info, lambda uow, actor: import_workbook(uow, actor, handle, filename))
