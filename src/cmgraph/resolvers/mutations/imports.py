"""Mutations: bulk updates from uploaded spreadsheets (DOMAIN.md section 13)."""

from __future__ import annotations

from typing import Any

import strawberry

from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.exchange.action_import import ActionImport, import_actions
from cmgraph.resolvers.mutations.base import Outcome, perform


async def import_improvement_actions(info: strawberry.Info, input: Any) -> Outcome[ActionImport]:
    """The import's result (row errors included), or the errors that refused the request."""
    handle = getattr(input.file, "file", None)
    if handle is None:
        error = DomainError(
            ErrorCode.INVALID,
            "Send the workbook as a file of a multipart request (GraphQL multipart request spec).",
            "file",
        )
        return Outcome(errors=[error])
    return await perform(
        info,
        lambda uow, actor: import_actions(
            uow, actor, handle, dry_run=input.dry_run, notify=input.notify_assignees
        ),
    )
