"""Per-request state: the caller, one database session, and the DataLoaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable

from cmgraph.config import Settings
from cmgraph.domain.permissions import Principal


class StatementReader(Protocol):
    """What loaders read with: a request's ``Reader``, or a subscription message's
    ``LazyReader`` (``cmgraph.resolvers.subscriptions``)."""

    @property
    def session(self) -> AsyncSession: ...

    async def execute(self, statement: Executable) -> Any: ...

    async def scalar(self, statement: Executable) -> Any: ...


class Reader:
    """Serialises statements on the request's session.

    GraphQL resolves sibling fields concurrently, and one AsyncSession must not run two
    statements at once; DataLoaders keep the number of statements small anyway.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.lock = asyncio.Lock()
        self.closed = False

    async def execute(self, statement: Executable) -> Any:
        async with self.lock:
            self._check_open()
            return await self.session.execute(statement)

    async def scalar(self, statement: Executable) -> Any:
        async with self.lock:
            self._check_open()
            return await self.session.scalar(statement)

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


@dataclass
class Context:
    principal: Principal
    reader: Reader
    sessions: async_sessionmaker[AsyncSession]  # for units of work (mutations)
    settings: Settings
    request_id: str
    loaders: Any = field(default=None)
    applied: set[str] = field(default_factory=set)  # root fields whose change committed

    def __post_init__(self) -> None:
        self.loaders = self._new_loaders()

    def _new_loaders(self) -> Any:
        from cmgraph.resolvers.loaders import Loaders

        return Loaders(self.reader, self.principal)

    def release(self) -> None:
        """Drop the loaders, and the rows they cached, once the operation has finished.

        graphql-core's execution context refers to itself (its helpers hold its bound
        methods) and to this context, so without this a request's loaders and rows would
        stay alive until the cyclic garbage collector runs; with it, reference counting
        frees them at once.
        """
        self.loaders = self._new_loaders()

    async def after_write(self) -> None:
        """Let reads after a committed mutation see it: fresh snapshot, empty loader caches."""
        async with self.reader.lock:
            self.reader._check_open()
            self.reader.session.expunge_all()  # keep already-built objects usable
            await self.reader.session.rollback()
        self.loaders = self._new_loaders()
