"""Cursor connections (Relay): ``edges``, ``nodes``, ``pageInfo`` and a lazy ``totalCount``.

Cursors and page sizes are the resolvers' (``resolvers.pages``): a connection shapes a page
that was read there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from cmgraph.resolvers.pages import Page, encode_cursor

NodeT = TypeVar("NodeT")


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


def connection(page: Page, convert: Callable[[Any], NodeT]) -> Connection[NodeT]:
    """The page's rows as nodes; the extra row a page may hold only tells a next page exists."""
    nodes = [convert(row) for row in page.rows[: page.limit]]
    edges = [Edge(cursor=encode_cursor(page.offset + i), node=n) for i, n in enumerate(nodes)]
    return Connection(
        edges=edges,
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=len(page.rows) > page.limit,
            has_previous_page=page.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=page.count,
    )
