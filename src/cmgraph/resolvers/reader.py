"""Reading a request's database session: one statement at a time, never after the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

Values = Mapping[str, Any] | None  # a statement's named parameters


class StatementReader(Protocol):
    """What loaders read with: a request's ``Reader``, or a subscription message's
    ``LazyReader`` (``cmgraph.resolvers.subscriptions``)."""

    @property
    def session(self) -> AsyncSession: ...

    async def execute(self, statement: Executable, values: Values = None) -> Any: ...

    async def scalar(self, statement: Executable) -> Any: ...

    async def columns(self, statement: Executable, values: Values = None) -> Any: ...


class Reader:
    """Serialises statements on the request's session.

    GraphQL resolves sibling fields concurrently, and one AsyncSession must not run two
    statements at once; DataLoaders keep the number of statements small anyway.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.lock = asyncio.Lock()
        self.closed = False

    async def execute(self, statement: Executable, values: Values = None) -> Any:
        async with self.lock:
            self._check_open()
            return await self.session.execute(statement, values)

    async def scalar(self, statement: Executable) -> Any:
        async with self.lock:
            self._check_open()
            return await self.session.scalar(statement)

    async def columns(self, statement: Executable, values: Values = None) -> Any:
        """The result of a statement that selects columns only (no entities), with
        ``values`` for its named parameters.

        Run on the session's connection, in its transaction: such rows need none of the
        ORM's per-row handling, which costs more than the database for a large report.
        Callers read the rows by position or column name, never by column object, so the
        result keeps the cached statement's column map, as the ORM's results do (SQLAlchemy
        would otherwise rebuild it for each new statement, comparing every ORM column with
        its table column: a sixth of a list request's work).
        """
        async with self.lock:
            self._check_open()
            connection = await self.session.connection()
            return await connection.execute(
                statement, values, execution_options={"_result_disable_adapt_to_context": True}
            )

    async def close(self) -> None:
        """End reading once the response is made, waiting for a statement in flight.

        A failed non-null root field ends an operation while its siblings may still be
        reading; they must not touch the session once it is closed and given back.
        """
        async with self.lock:
            self.closed = True

    def _check_open(self) -> None:
        if self.closed:
            raise RequestFinished("the request has been answered; nothing more is read")


class RequestFinished(Exception):
    """A resolver left running after its operation ended tried to read."""
