"""Running a domain service for a mutation: one unit of work, domain errors as user errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry
from strawberry import relay

from cmgraph.db import UnitOfWork
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.permissions import Principal
from cmgraph.schema.errors import UserError

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """Either the service's result or the user errors that refused it (nothing applied)."""

    value: T | None = None
    errors: list[UserError] | None = None

    @property
    def user_errors(self) -> list[UserError]:
        return self.errors or []


async def perform(
    info: strawberry.Info, work: Callable[[UnitOfWork, Principal], Awaitable[T]]
) -> Outcome[T]:
    try:
        async with UnitOfWork(info.context.sessions) as uow:
            value = await work(uow, info.context.principal)
    except DomainError as error:
        return Outcome(errors=[UserError.of(error)])
    await info.context.after_write()
    return Outcome(value=value)


def node_id(gid: relay.GlobalID | Any, type_name: str, field: str) -> int:
    """The database id behind a global id of the expected type, else a NOT_FOUND user error."""
    if (
        not isinstance(gid, relay.GlobalID)
        or gid.type_name != type_name
        or not gid.node_id.isdigit()
    ):
        raise DomainError(ErrorCode.NOT_FOUND, f"No {type_name} with id {gid}.", field)
    return int(gid.node_id)
