"""Reading one page of an ordered list, and its total count when asked for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import strawberry
from sqlalchemy import Select, func, select

Window = tuple[int, int]  # (offset, limit) of a page


@dataclass(frozen=True)
class Page:
    """One page of a list: up to ``limit`` + 1 rows (the extra one tells a next page exists)."""

    rows: list[Any]
    offset: int
    limit: int
    count: Callable[[], Awaitable[int]]


async def read_page(
    info: strawberry.Info,
    statement: Select[*tuple[Any, ...]],
    order: list[Any],
    window: Window,
    *,
    scalars: bool = True,
) -> Page:
    offset, limit = window
    reader = info.context.reader
    result = await reader.execute(statement.order_by(*order).offset(offset).limit(limit + 1))
    rows = list(result.scalars()) if scalars else list(result.all())

    async def count() -> int:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        return int(await reader.scalar(counted))

    return Page(rows, offset, limit, count)


def sort(column: Any, descending: bool, tiebreak: Any) -> list[Any]:
    return [column.desc() if descending else column.asc(), tiebreak]
