"""``improvementActions(filter: {search})``: a case-insensitive substring of the title, the
guidance or the key, of the version an action has accepted, with LIKE's wildcards (and
full-text query syntax) taken literally; found among the definition versions first, through
trigram indexes on PostgreSQL and a full-text index on SQLite (issue 15)."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from strawberry.relay import to_base64

from cmgraph.adapters.db import create_engine
from cmgraph.adapters.migrate import upgrade
from cmgraph.domain.action_filter import versions_matching
from cmgraph.domain.models import ActionDefinition, ActionDefinitionVersion, ImprovementAction
from cmgraph.domain.search_index import SEARCH_TABLE
from cmgraph.domain.templates import import_template
from tests.builders import N1, T1, WorkedExample, _template
from tests.databases import POSTGRES_URL
from tests.report_data import count_statements

SEARCH = """query ($search: String) {
  improvementActions(first: 100, filter: {search: $search}) { totalCount nodes { id } }
}"""
RENAMED = "Rotate 100% of the keys_now"  # the pending version's title: not searched


@pytest.fixture
async def pending(example: WorkedExample, uow) -> WorkedExample:
    """T1 gets a new definition version (new title and guidance) that its instances have not
    accepted yet; searches keep to the accepted version."""
    t1 = dataclasses.replace(T1, title=RENAMED, guidance="Fresh guidance about rotation.")
    async with uow() as u:
        result = await import_template(
            u, _template("x", "Regulation X", {"C1": (t1, N1), "C2": (t1,)}), source="test"
        )
    assert result.updated_definition_ids
    return example


async def _expected(db: Any, term: str) -> set[str]:
    """The actions whose accepted version's title or guidance, or whose key, holds ``term``
    in any case, worked out in Python."""
    statement = (
        select(
            ImprovementAction.id,
            ActionDefinition.key,
            ActionDefinitionVersion.title,
            ActionDefinitionVersion.guidance,
        )
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .join(
            ActionDefinitionVersion,
            ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
        )
    )
    async with db.sessions() as session:
        rows = (await session.execute(statement)).all()
    needle = term.lower()
    return {
        to_base64("ImprovementAction", action_id)
        for action_id, *texts in rows
        if any(needle in text.lower() for text in texts)
    }


@pytest.mark.parametrize(
    "term",
    [
        *("t1", "T1", "WE:N", "n1", "p", "1", "%", "_", "rotate", "Fresh", "keys_now", "nothing"),
        # Full-text query syntax is taken literally, as LIKE takes its wildcards.
        *('"t1"', 'a"b', "we:t1", "t1 OR p", "NEAR(t1)", "t1*", "-t1", "^we"),
        *('"""', "'''", "%_\\\\", "\u00c0\u00c9\u00ce", "\U0001f642 t1"),
    ],
)
async def test_search_matches_the_accepted_versions_text(
    api, db, tokens, pending: WorkedExample, term: str
) -> None:
    expected = await _expected(db, term)
    with count_statements(db.engine) as statements:
        data = await api.query(SEARCH, {"search": term}, token=tokens["OWNER"])
    found = data["improvementActions"]
    assert {n["id"] for n in found["nodes"]} == expected
    assert found["totalCount"] == len(expected)
    if term in ("rotate", "Fresh", "keys_now", "%"):
        assert expected == set()  # only T1's pending version holds these
    if term in ("t1", "T1", "p"):
        assert expected  # by the accepted title, or the key
    [page] = [s for s in statements if "improvement_action" in s and "LIMIT" in s.upper()]
    assert "improvement_action.definition_version_id IN (SELECT" in " ".join(page.split()), page


async def test_sqlite_searches_through_its_full_text_index(db: Any, pending: WorkedExample) -> None:
    """Migration 0012's FTS5 table holds every definition version's key, title and guidance
    (kept by triggers), and the search asks it first for terms of three characters or more."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL searches through trigram indexes")
    versions = (
        "SELECT v.id, d.key, v.title, v.guidance FROM action_definition_version v"
        " JOIN action_definition d ON d.id = v.definition_id ORDER BY v.id"
    )
    indexed = f"SELECT rowid, key, title, guidance FROM {SEARCH_TABLE} ORDER BY rowid"

    async def plan_of(term: str) -> str:
        lookup = versions_matching(term).compile(
            dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        async with db.engine.connect() as connection:
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {lookup}")
            return "\n".join(str(row[-1]) for row in rows)

    async with db.engine.begin() as connection:
        assert (await connection.exec_driver_sql(indexed)).all() == (
            await connection.exec_driver_sql(versions)
        ).all()
        # The triggers follow every change of the versions and of the definitions' keys.
        await connection.exec_driver_sql(
            "UPDATE action_definition_version SET title = 'Renamed in place'"
            " WHERE id = (SELECT min(id) FROM action_definition_version)"
        )
        await connection.exec_driver_sql(
            "UPDATE action_definition SET key = 'we:renamed' WHERE key = 'we:t2'"
        )
        await connection.exec_driver_sql(
            "DELETE FROM action_definition_version"
            " WHERE id = (SELECT max(id) FROM action_definition_version)"
        )
        assert (await connection.exec_driver_sql(indexed)).all() == (
            await connection.exec_driver_sql(versions)
        ).all()
        await connection.rollback()
    assert f"{SEARCH_TABLE} VIRTUAL TABLE" in await plan_of("audit")
    assert SEARCH_TABLE not in await plan_of("t1"[:2])  # no trigram in two characters


async def test_postgresql_searches_through_trigram_indexes(db: Any) -> None:
    """Migration 0008's indexes exist and serve the search's definition look-up."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite searches through its full-text index")
    lookup = versions_matching("audit").compile(
        dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
    )
    async with db.engine.connect() as connection:
        names = await connection.scalars(
            text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%\\_trgm'")
        )
        assert set(names) == {
            "ix_action_definition_key_trgm",
            "ix_action_definition_version_title_trgm",
            "ix_action_definition_version_guidance_trgm",
        }
        await connection.execute(text("SET enable_seqscan = off"))  # the tables are tiny here
        plan = "\n".join(await connection.scalars(text(f"EXPLAIN {lookup}")))
    assert "ix_action_definition_version_title_trgm" in plan, plan
    assert "ix_action_definition_key_trgm" in plan, plan


async def test_postgresql_without_the_right_to_add_pg_trgm_warns_and_still_searches(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database user who may create tables but not extensions: migration 0008 says so in
    a warning, makes no trigram index, and the search answers the same without one."""
    if not POSTGRES_URL:
        pytest.skip("needs PostgreSQL (CMGRAPH_TEST_DATABASE_URL)")
    suffix = uuid.uuid4().hex[:10]
    name, role = f"cmgraph_test_trgm_{suffix}", f"cmgraph_test_role_{suffix}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    server = make_url(POSTGRES_URL)
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        owner_of_database = create_async_engine(
            server.set(database=name), isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        async with owner_of_database.connect() as connection:
            await connection.exec_driver_sql(f'GRANT CREATE ON SCHEMA public TO "{role}"')
        await owner_of_database.dispose()
        engine = create_engine(server.set(database=name, username=role).render_as_string(False))
        try:
            with caplog.at_level(logging.WARNING, logger="cmgraph.migrations"):
                await upgrade(engine)
            assert "pg_trgm is not installed and this user cannot add it" in caplog.text
            async with engine.connect() as connection:
                trigram = await connection.scalars(
                    text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%\\_trgm'")
                )
                assert list(trigram) == []
                assert list(await connection.scalars(versions_matching("t1"))) == []
        finally:
            await engine.dispose()
    finally:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        await admin.dispose()
