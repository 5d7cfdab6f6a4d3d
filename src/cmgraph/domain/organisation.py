"""The organisation row: the one installation's name and settings.

There is exactly one (the first migration creates it); every reader finds it here, so a
second row or a changed order could never make two readers disagree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.errors import not_found
from cmgraph.domain.models import Organisation


def organisation_query() -> Select[Organisation]:
    """The organisation row, for readers without a unit of work (resolvers, loaders)."""
    return select(Organisation).order_by(Organisation.id).limit(1)


def setting_query(column: Any) -> Select[Any]:
    """One of the organisation's columns, e.g. as a scalar subquery inside a filter."""
    return select(column).order_by(Organisation.id).limit(1)


async def organisation(uow: UnitOfWork, *, lock: bool = False) -> Organisation:
    """The organisation row; ``lock`` holds it for a settings change."""
    statement = organisation_query()
    if lock:
        statement = statement.with_for_update()
    row = await uow.session.scalar(statement)
    if row is None:
        raise not_found("Organisation")
    return row
