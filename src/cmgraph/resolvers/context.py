"""Per-request state: the caller, one database session, and the DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.config import Settings
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.loaders import Loaders
from cmgraph.resolvers.reader import Reader


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

    def _new_loaders(self) -> Loaders:
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
