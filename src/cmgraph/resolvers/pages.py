"""Reading one page of an ordered list, and its total count when asked for.

Cursors are opaque; inside they carry the offset of the item in the ordered list. Pages hold
at most ``Settings.max_page_size`` items.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy import Select, func, select

DEFAULT_PAGE_SIZE = 50
_CURSOR_PREFIX = "cursor:"


@dataclass(frozen=True)
class PageRequest:
    """``first`` and ``after`` as the client sent them.

    They are checked when the page is read, after the list's own arguments, so a bad filter
    or a refused list is reported before a bad page size.
    """

    first: int | None
    after: str | None


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
    request: PageRequest,
    *,
    scalars: bool = True,
) -> Page:
    offset, limit = page_window(request, info.context.settings.max_page_size)
    reader = info.context.reader
    result = await reader.execute(statement.order_by(*order).offset(offset).limit(limit + 1))
    rows = list(result.scalars()) if scalars else list(result.all())

    async def count() -> int:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        return int(await reader.scalar(counted))

    return Page(rows, offset, limit, count)


_MAX_CURSOR_LENGTH = 64
_OFFSET = re.compile(r"0|[1-9][0-9]{0,17}")  # ASCII digits, one spelling per offset


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The offset a cursor of ``encode_cursor`` names; any other spelling is refused."""
    offset = None
    if len(cursor) <= _MAX_CURSOR_LENGTH and cursor.isascii():
        with contextlib.suppress(ValueError):
            text = base64.b64decode(cursor, validate=True).decode("ascii")
            digits = text.removeprefix(_CURSOR_PREFIX)
            if text.startswith(_CURSOR_PREFIX) and _OFFSET.fullmatch(digits):
                offset = int(digits)
    if offset is None or encode_cursor(offset) != cursor:
        raise GraphQLError(
            "Invalid cursor: pass a cursor this list returned (`endCursor`, `cursor`).",
            extensions={"code": "BAD_USER_INPUT"},
        )
    return offset


def page_window(request: PageRequest, max_page_size: int) -> tuple[int, int]:
    """The (offset, limit) a ``first``/``after`` pair asks for, refusing pages that are too big."""
    first, after = request.first, request.after
    size = DEFAULT_PAGE_SIZE if first is None else first
    if size < 0 or size > max_page_size:
        raise GraphQLError(
            f"`first` must be between 0 and {max_page_size}, got {size}.",
            extensions={"code": "BAD_USER_INPUT"},
        )
    offset = decode_cursor(after) + 1 if after else 0
    return offset, min(size, max_page_size)


def descending(order: Any) -> bool:
    """Whether an order input (``field``, ``direction``) asks for descending order."""
    return bool(order.direction.value == "DESC")


def sort(column: Any, descending: bool, tiebreak: Any) -> list[Any]:
    return [column.desc() if descending else column.asc(), tiebreak]
