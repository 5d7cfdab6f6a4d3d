"""Cursor connections (Relay): ``edges``, ``nodes``, ``pageInfo`` and a lazy ``totalCount``.

Cursors are opaque; inside they carry the offset of the item in the ordered list. Pages hold
at most ``Settings.max_page_size`` items.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError

from cmgraph.resolvers.pages import Page, Window

NodeT = TypeVar("NodeT")

DEFAULT_PAGE_SIZE = 50
_CURSOR_PREFIX = "cursor:"


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    nodes: list[NodeT]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items match, across all pages.")
    async def total_count(self) -> int:
        return await self.count()


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


def page_window(first: int | None, after: str | None, max_page_size: int) -> tuple[int, int]:
    """The (offset, limit) a ``first``/``after`` pair asks for, refusing pages that are too big."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if size < 0 or size > max_page_size:
        raise GraphQLError(
            f"`first` must be between 0 and {max_page_size}, got {size}.",
            extensions={"code": "BAD_USER_INPUT"},
        )
    offset = decode_cursor(after) + 1 if after else 0
    return offset, min(size, max_page_size)


def build_connection(
    items: list[NodeT], offset: int, limit: int, count: Callable[[], Awaitable[int]]
) -> Connection[NodeT]:
    """``items`` holds up to limit + 1 rows: the extra one only tells that a next page exists."""
    page = items[:limit]
    edges = [Edge(cursor=encode_cursor(offset + i), node=node) for i, node in enumerate(page)]
    return Connection(
        edges=edges,
        nodes=page,
        page_info=PageInfo(
            has_next_page=len(items) > limit,
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )


def window(info: strawberry.Info, first: int | None, after: str | None) -> Window:
    return page_window(first, after, info.context.settings.max_page_size)


def connection(page: Page, convert: Callable[[Any], NodeT]) -> Connection[NodeT]:
    return build_connection(
        [convert(row) for row in page.rows], page.offset, page.limit, page.count
    )
