"""Running a domain service for a mutation: one unit of work, domain errors as user errors.

A change that committed is reported as done, whatever fails after the commit: the reply is
built from what the transaction itself read and returned (see ``actions.read_actions``),
and a failure of the work after it (waking consumers, removing released files, refreshing
the request's read session) is logged, not raised. A client that got an error could only
retry, and its retry would meet the change it thinks failed (``CONFLICT``). So an empty
``userErrors`` always means applied, even when ``errors`` reports a nested field of the
payload that could not be read after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import strawberry

from cmgraph import global_ids
from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.permissions import Principal

T = TypeVar("T")

log = logging.getLogger("cmgraph.graphql")


@dataclass
class Outcome(Generic[T]):
    """Either the service's result or the domain errors that refused it (nothing applied)."""

    value: T | None = None
    errors: list[DomainError] = field(default_factory=list)


async def perform(
    info: strawberry.Info, work: Callable[[UnitOfWork, Principal], Awaitable[T]]
) -> Outcome[T]:
    """Run ``work`` in one unit of work; once it has committed, report it as done.

    The root field's response key is noted in the context as applied, so that an error
    below it (or a later root field's) is not answered as a failure to retry.
    """
    uow = UnitOfWork(info.context.sessions)
    try:
        async with uow:
            value = await work(uow, info.context.principal)
    except DomainError as error:
        if not uow.committed:
            return Outcome(errors=[error])
        _applied_anyway(info, error)
    except Exception as error:
        if not uow.committed:
            raise
        _applied_anyway(info, error)
    info.context.applied.add(info.path.key)
    try:
        await info.context.after_write()
    except Exception as error:
        _applied_anyway(info, error)
    return Outcome(value=value)


def _applied_anyway(info: strawberry.Info, error: BaseException) -> None:
    log.error(
        "request %s: %s committed, then failed: %r",
        getattr(info.context, "request_id", "-"),
        info.field_name,
        error,
        exc_info=error,
    )


def node_id(gid: str, type_name: str, field: str) -> int:
    """The database id behind a global id of the expected type, else a NOT_FOUND user error.

    A malformed id names nothing, so it is refused like an unknown one.
    """
    row_id = global_ids.row_id_of(gid, type_name)
    if row_id is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"No {type_name} with id {gid}.", field)
    return row_id
