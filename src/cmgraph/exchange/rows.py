"""Reading rows for exports: one snapshot per file, and results streamed a part at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

PARTITION = 500


async def snapshot(session: AsyncSession) -> None:
    """Read a whole export from one snapshot, so that its sheets and pages agree.

    PostgreSQL needs REPEATABLE READ for that; a SQLite transaction (begun explicitly, see
    ``cmgraph.db``) reads from one snapshot anyway. The places that run an export (the
    download route and the CLI) call it before the first statement.
    """
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def partitions(
    session: AsyncSession, statement: Select[*tuple[Any, ...]]
) -> AsyncIterator[Sequence[Any]]:
    """The rows of ``statement``, a partition at a time, from a server-side cursor."""
    result = await session.stream(statement)
    async for rows in result.partitions(PARTITION):
        yield rows


async def runs(
    session: AsyncSession, statement: Select[*tuple[Any, ...]]
) -> AsyncIterator[list[Any]]:
    """Consecutive rows with the same ``id`` (one thing joined to its many), a run at a time."""
    current: list[Any] = []
    async for rows in partitions(session, statement):
        for row in rows:
            if current and current[0].id != row.id:
                yield current
                current = []
            current.append(row)
    if current:
        yield current
