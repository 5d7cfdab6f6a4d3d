"""Reading a request's database session: one statement at a time, never after the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable

from cmgraph.adapters.driver_reads import (
    DriverRead,
    driver_read,
    read_borrowing,
    run_directly,
)

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

    Given ``sessions``, it opens its session when first asked for it (and ``close`` closes
    it): a request that reads nothing, or only through the driver, makes none.
    """

    def __init__(
        self,
        session: AsyncSession | None = None,
        *,
        sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        if (session is None) == (sessions is None):
            raise TypeError("Pass a session or a session factory.")
        self._session = session
        self._sessions = sessions
        self.lock = asyncio.Lock()
        self.closed = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            assert self._sessions is not None
            self._session = self._sessions()
        return self._session

    @property
    def engine(self) -> Any:
        """What the session reads through (an engine, or a connection in some tests)."""
        if self._session is not None:
            return self._session.bind
        assert self._sessions is not None
        return self._sessions.kw["bind"]

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

    async def kept_columns(
        self, kept: KeptStatement, values: Mapping[str, Any], *, check: bool = False
    ) -> tuple[Sequence[str], Sequence[Any]]:
        """``columns`` of a statement run again and again, as names and rows: on PostgreSQL
        through its driver alone (``adapters.driver_reads``) when it is the request's first
        read. ``check``: also through SQLAlchemy, and the two must agree (the tests)."""
        async with self.lock:
            self._check_open()
            engine = self.engine
            # Only as the request's first read: it then holds no connection, and never two.
            if (
                not isinstance(engine, AsyncEngine)
                or (self._session is not None and self._session.in_transaction())
                or not run_directly(engine)
                or (read := kept.direct(engine)) is None
            ):
                return await self._columns(kept.page, values)
            rows = await read_borrowing(read, engine, values)
            if check:
                _require_same((read.names, rows), await self._columns(kept.page, values))
            return read.names, rows

    async def _columns(
        self, statement: Executable, values: Values
    ) -> tuple[Sequence[str], Sequence[Any]]:
        connection = await self.session.connection()
        result = await connection.execute(
            statement, values, execution_options={"_result_disable_adapt_to_context": True}
        )
        return tuple(result.keys()), result.all()

    async def close(self) -> None:
        """End reading once the response is made, waiting for a statement in flight.

        A failed non-null root field ends an operation while its siblings may still be
        reading; they must not touch the session once it is closed and given back.
        """
        try:
            async with self.lock:
                self.closed = True
        finally:
            if self._sessions is not None and self._session is not None:
                # The session it opened, even if the request is cancelled meanwhile (as
                # AsyncSession's own ``async with`` does): its connection goes back.
                await asyncio.shield(self._session.close())

    def _check_open(self) -> None:
        if self.closed:
            raise RequestFinished("the request has been answered; nothing more is read")


class KeptStatement:
    """A statement kept for the process, with its form for the driver once asked."""

    def __init__(self, page: Select[Any]) -> None:
        self.page = page
        self._direct: dict[str, DriverRead | None] = {}

    def direct(self, engine: AsyncEngine) -> DriverRead | None:
        name = engine.dialect.name
        if name not in self._direct:
            self._direct[name] = driver_read(self.page, engine.dialect)
        return self._direct[name]


def _require_same(direct: tuple[Sequence[str], Sequence[Any]], through: Any) -> None:
    def plain(names: Sequence[str], rows: Sequence[Any]) -> Any:
        return tuple(names), [tuple(row) for row in rows]

    if plain(*direct) != plain(*through):
        raise AssertionError(f"read directly:\n{direct}\nthrough SQLAlchemy:\n{through}")


class RequestFinished(Exception):
    """A resolver left running after its operation ended tried to read."""
