"""Cursor connections (Relay): ``edges``, ``nodes``, ``pageInfo`` and ``totalCount``.

Cursors, page sizes and which way a page is read are the resolvers' (``resolvers.pages``): a
connection shapes a page that was read there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from cmgraph.resolvers.pages import Count, Flag, Page
from cmgraph.schema.execution import NOT_LOADED, PREFETCHED

NodeT = TypeVar("NodeT")


@strawberry.type
class PageInfo:
    """A flag the page's statement did not answer is asked only when selected (see
    ``resolvers.pages.Page``)."""

    has_next: strawberry.Private[Flag]
    has_previous: strawberry.Private[Flag]
    cursors: strawberry.Private[Sequence[str]]

    # Known from the page's statement (as a flag selected usually is), a flag is answered
    # by the fast path from ``known_*`` without a call of its resolver.
    @strawberry.field(metadata={PREFETCHED: "known_has_next"}, graphql_type=bool)
    def has_next_page(self) -> bool | Awaitable[bool]:
        return _resolve(self.has_next)

    @strawberry.field(metadata={PREFETCHED: "known_has_previous"}, graphql_type=bool)
    def has_previous_page(self) -> bool | Awaitable[bool]:
        return _resolve(self.has_previous)

    @property
    def known_has_next(self) -> Any:
        return self.has_next if isinstance(self.has_next, bool) else NOT_LOADED

    @property
    def known_has_previous(self) -> Any:
        return self.has_previous if isinstance(self.has_previous, bool) else NOT_LOADED

    @strawberry.field
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

    @strawberry.field
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def _resolve(flag: Flag) -> bool | Awaitable[bool]:
    return flag if isinstance(flag, bool) else flag()


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    @strawberry.field
    def edges(self) -> list[Edge[NodeT]]:
        """Built when selected, with the cursors: most queries read ``nodes`` only."""
        return [Edge(cursor=c, node=n) for c, n in zip(self.cursors, self.nodes, strict=True)]

    nodes: list[NodeT]
    page_info: PageInfo
    count: strawberry.Private[Count]
    cursors: strawberry.Private[Sequence[str]]

    @strawberry.field(
        description="How many items match, across all pages.",
        metadata={PREFETCHED: "known_count"},
        graphql_type=int,
    )
    def total_count(self) -> int | Awaitable[int]:
        return self.count if isinstance(self.count, int) else self.count()

    @property
    def known_count(self) -> Any:
        """The total when the page's statement read it (as it does when ``totalCount`` is
        selected): the fast path then answers the field without a call of its resolver."""
        return self.count if isinstance(self.count, int) else NOT_LOADED


def connection(page: Page, convert: Callable[[Any], NodeT]) -> Connection[NodeT]:
    """The page's rows as nodes, in list order whichever way the page was read."""
    return Connection(
        nodes=[convert(row) for row in page.rows],
        page_info=PageInfo(
            has_next=page.has_next, has_previous=page.has_previous, cursors=page.cursors
        ),
        count=page.count,
        cursors=page.cursors,
    )
