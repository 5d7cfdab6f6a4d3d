"""Throwaway databases for tests: SQLite always, PostgreSQL when CMGRAPH_TEST_DATABASE_URL is set.

A migrated template is built once per run; each test gets a copy (a file copy on SQLite,
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), and everything is dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from cmgraph.adapters.db import create_engine, session_factory
from cmgraph.adapters.migrate import upgrade

POSTGRES_URL = os.environ.get("CMGRAPH_TEST_DATABASE_URL", "")


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


class DatabaseFactory:
    """Makes fresh migrated databases of one backend, and cleans them all up."""

    def __init__(self) -> None:
        self.backend = "postgresql" if POSTGRES_URL else "sqlite"
        self._folder = Path(tempfile.mkdtemp(prefix="cmgraph-test-"))
        self._run = uuid.uuid4().hex[:8]
        self._template_url = ""
        self._created: list[str] = []
        self._next: asyncio.Future[str] | None = None

    def _pg_url(self, name: str) -> str:
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    async def _admin(self, statement: str) -> None:
        engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    async def start(self) -> None:
        if self.backend == "sqlite":
            self._template_url = f"sqlite+aiosqlite:///{self._folder / 'template.db'}"
        else:
            name = f"cmgraph_test_{self._run}_template"
            await self._admin(f'CREATE DATABASE "{name}"')
            self._created.append(name)
            self._template_url = self._pg_url(name)
        engine = create_engine(self._template_url)
        await upgrade(engine)
        await engine.dispose()

    async def new_url(self) -> str:
        suffix = uuid.uuid4().hex[:10]
        if self.backend == "sqlite":
            source = Path(make_url(self._template_url).database or "")
            target = self._folder / f"{suffix}.db"
            shutil.copyfile(source, target)
            return f"sqlite+aiosqlite:///{target}"
        # Copying the template takes PostgreSQL about half a second: the next test's copy is
        # made while this test runs.
        if self._next is None:
            self._next = asyncio.ensure_future(self._copy(suffix))
        copy, self._next = self._next, asyncio.ensure_future(self._copy(uuid.uuid4().hex[:10]))
        return await copy

    async def _copy(self, suffix: str) -> str:
        name = f"cmgraph_test_{self._run}_{suffix}"
        template = make_url(self._template_url).database
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self._created.append(name)
        return self._pg_url(name)

    @asynccontextmanager
    async def database(self) -> AsyncIterator[Database]:
        url = await self.new_url()
        engine = create_engine(url)
        try:
            yield Database(url, engine, session_factory(engine))
        finally:
            await engine.dispose()
            if self.backend == "postgresql":
                name = make_url(url).database
                await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                self._created.remove(name or "")

    async def close(self) -> None:
        if self._next is not None:
            await asyncio.gather(self._next, return_exceptions=True)  # then drop it below
        for name in reversed(self._created):
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(self._folder, ignore_errors=True)
