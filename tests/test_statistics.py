"""Bulk work leaves the planner statistics of the tables it filled up to date (issue 15).

On PostgreSQL autovacuum is turned off for the tables first, so that only cmgraph's own
``ANALYZE`` can have made the statistics found afterwards; SQLite never analyses on its own.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cmgraph.adapters import statistics
from cmgraph.adapters.db import UnitOfWork, create_engine
from cmgraph.domain.assessments import ASSESSMENT_TABLES, delete_assessment
from cmgraph.domain.templates import TEMPLATE_TABLES
from tests.builders import worked_example
from tests.databases import Database


async def _analysed(db: Database, table: str) -> bool:
    """Whether the database holds planner statistics for ``table``."""
    async with db.engine.connect() as connection:
        if db.engine.dialect.name == "postgresql":
            query = "SELECT count(*) FROM pg_stats WHERE tablename = :table"
        else:
            known = await connection.scalar(
                text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            )
            if not known:
                return False
            query = "SELECT count(*) FROM sqlite_stat1 WHERE tbl = :table"
        return bool(await connection.scalar(text(query), {"table": table}))


async def test_a_new_assessment_leaves_its_tables_analysed(db: Database, uow, owner) -> None:
    tables = sorted(set(ASSESSMENT_TABLES + TEMPLATE_TABLES) - {"evidence"})  # none added
    if db.engine.dialect.name == "postgresql":
        async with db.engine.begin() as connection:
            for table in tables:
                await connection.execute(
                    text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
                )
    assert not [t for t in tables if await _analysed(db, t)]
    async with uow() as u:
        await worked_example(u, owner)  # three template imports, three assessments
        assert not [t for t in tables if await _analysed(db, t)]  # not before the commit
    assert [t for t in tables if not await _analysed(db, t)] == []


async def test_each_bulk_operation_names_its_tables(
    db: Database, uow, owner, monkeypatch: pytest.MonkeyPatch
) -> None:
    refreshed: list[set[str]] = []

    async def record(engine: Any, tables: Any) -> None:
        refreshed.append(set(tables))

    monkeypatch.setattr(statistics, "refresh_statistics", record)
    async with uow() as u:
        example = await worked_example(u, owner)
    assert refreshed == [set(TEMPLATE_TABLES) | set(ASSESSMENT_TABLES)]  # once per commit
    async with uow() as u:
        await delete_assessment(u, owner, example.a3.id)
    assert refreshed[1:] == [set(ASSESSMENT_TABLES)]
    async with uow() as u:
        await delete_assessment(u, owner, example.a2.id)
        await u.discard()  # a dry run: nothing committed, nothing refreshed
    assert len(refreshed) == 2
    with pytest.raises(RuntimeError):
        async with uow() as u:
            await delete_assessment(u, owner, example.a1.id)
            raise RuntimeError("rolled back")
    assert len(refreshed) == 2


async def test_a_failed_refresh_is_logged_and_the_change_stands(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        with caplog.at_level(logging.WARNING, logger="cmgraph.adapters.statistics"):
            await statistics.refresh_statistics(engine, ["improvement_action"])
    finally:
        await engine.dispose()
    assert "planner statistics of improvement_action not refreshed" in caplog.text


async def test_a_unit_of_work_that_names_no_table_refreshes_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []

    async def record(engine: Any, tables: Any) -> None:
        calls.append(tables)

    monkeypatch.setattr(statistics, "refresh_statistics", record)
    async with UnitOfWork(db.sessions):
        pass
    assert calls == []
