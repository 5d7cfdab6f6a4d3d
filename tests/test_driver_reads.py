"""The action list's page read on PostgreSQL's driver alone (``adapters.driver_reads``).

On PostgreSQL a kept page statement, as a request's first read, runs on a pooled asyncpg
connection without SQLAlchemy. What it answers must be what SQLAlchemy answers: the suite
runs with ``CHECK_KEPT_STATEMENTS`` on, which reads every such page both ways and compares
names and rows (``Reader.kept_columns``); here the filters that change the rewritten SQL are
read through the API, and the rewriting itself is checked on its own.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite

from cmgraph.adapters import db as database
from cmgraph.adapters import driver_reads
from cmgraph.adapters.driver_reads import driver_read
from cmgraph.domain.clause_shapes import constant, named
from cmgraph.domain.enums import ImplementationStatus, TestStatus
from cmgraph.domain.models import ImprovementAction
from cmgraph.resolvers import pages
from tests.builders import WorkedExample
from tests.databases import Database
from tests.graphql_ws import wait_until
from tests.report_data import count_statements
from tests.test_credential_cache import Caller, _drop_connections, client, listening

ASYNCPG = postgresql.asyncpg.dialect()  # type: ignore[attr-defined]
STATUS = ImprovementAction.implementation_status


def test_lists_become_one_array_each_whatever_their_length() -> None:
    """``IN`` over a named list is ``= ANY`` of one parameter (``<> ALL`` for ``NOT IN``),
    numbered after the plain values; a list used twice is one parameter."""
    statuses = named("statuses", [ImplementationStatus.PLANNED])
    statement = (
        select(ImprovementAction.id)
        .where(STATUS.in_(statuses), ImprovementAction.points > named("points", 2))
        .where(ImprovementAction.test_status.not_in(named("tests", [TestStatus.PASSED])))
        .where(ImprovementAction.id.in_(select(ImprovementAction.id).where(STATUS.in_(statuses))))
        .limit(named("size", 5))
    )
    read = driver_read(statement, ASYNCPG)
    assert read is not None
    assert read.sql.count("improvement_action.implementation_status = ANY($3)") == 2
    assert "improvement_action.test_status <> ALL($4)" in read.sql
    assert "improvement_action.points > $1" in read.sql and "LIMIT $2" in read.sql
    assert "POSTCOMPILE" not in read.sql
    arguments = read.arguments(
        {
            "statuses": [ImplementationStatus.PLANNED, ImplementationStatus.IMPLEMENTED],
            "points": 7,
            "tests": [],
            "size": 51,
        }
    )
    # As SQLAlchemy binds them: enum members by the names the columns store.
    assert arguments == [7, 51, ["PLANNED", "IMPLEMENTED"], []]


def test_constants_are_the_statements_and_other_values_are_each_runs() -> None:
    closed = constant("closed", [ImplementationStatus.IMPLEMENTED])
    statement = select(ImprovementAction.id).where(
        STATUS.in_(closed), ImprovementAction.points == named("points", 1)
    )
    read = driver_read(statement, ASYNCPG)
    assert read is not None
    assert read.arguments({"points": 4}) == [4, ["IMPLEMENTED"]]
    with pytest.raises(KeyError):
        read.arguments({})  # never the value of the request that built it


def test_other_drivers_keep_sqlalchemy() -> None:
    statement = select(ImprovementAction.id).where(ImprovementAction.points == named("p", 1))
    assert driver_read(statement, sqlite.dialect()) is None


LIST = """query ($filter: ImprovementActionFilter) {
  improvementActions(filter: $filter, first: 20, orderBy: {field: POINTS, direction: DESC}) {
    totalCount
    nodes { id implementationStatus testStatus points updatedAt assignee { name } }
  }
}"""
# Filters whose SQL the rewriting changes: lists (IN and NOT IN, empty ones), enums, NULLs.
FILTERS: list[dict[str, Any]] = [
    {},
    {"implementationStatuses": ["IMPLEMENTED", "PLANNED"]},
    {"implementationStatuses": []},
    {"excludeTestStatuses": ["PASSED"]},
    {"excludeTestStatuses": []},
    {"unassigned": True},
    {"search": "access"},
    {"dueStates": ["NONE", "OVERDUE"]},
]


__all__ = ["client", "listening"]  # the fixtures of a caller known to the credential cache


def _postgresql_only(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite reads go through SQLAlchemy")


async def test_pages_read_by_the_driver_answer_as_through_sqlalchemy(
    api, db: Database, example: WorkedExample, tokens, token_for, monkeypatch
) -> None:
    """Each filter, for an owner and for a reader granted one assessment: read by the driver
    (and, by the suite's check, also through SQLAlchemy, the two compared)."""
    _postgresql_only(db)
    borrowed = _count_calls(monkeypatch)
    reader = await token_for("one@driver.test", None, assessment_id=example.a1.id)
    answers = []
    for filter_ in FILTERS:
        for token in (tokens["OWNER"], reader):
            answers.append(await api.query(LIST, {"filter": filter_}, token=token))
    assert len(borrowed) == 2 * len(FILTERS)
    owner_total, reader_total = (a["improvementActions"]["totalCount"] for a in answers[:2])
    assert 0 < reader_total < owner_total
    none = answers[2 * FILTERS.index({"implementationStatuses": []})]
    assert none["improvementActions"] == {"totalCount": 0, "nodes": []}


async def test_a_list_request_sends_one_statement_and_no_other(
    client, db: Database, example: WorkedExample, tokens, monkeypatch
) -> None:
    """The page, its total in it, is the one statement of a repeated list request (its
    caller known to the credential cache): on the driver, with nothing through SQLAlchemy
    (no session, no BEGIN, no check of the connection)."""
    _postgresql_only(db)
    monkeypatch.setattr(pages, "CHECK_KEPT_STATEMENTS", False)  # no second read to compare
    sent: list[str] = []
    through_sqlalchemy: list[Any] = []

    def log_queries(_connection: Any, record: Any) -> None:
        record.driver_connection.add_query_logger(lambda query: sent.append(query.query))

    def record(*args: Any) -> None:
        through_sqlalchemy.append(args)

    async def logged_so_far() -> list[str]:
        """What was sent until now: asyncpg tells its loggers a moment later, in order, so
        a statement sent now is told of after every earlier one."""
        raw = await db.engine.raw_connection()
        try:
            await raw.driver_connection.fetch("SELECT 'marker'")
        finally:
            raw.close()
        await wait_until(lambda: "SELECT 'marker'" in sent, "the marker logged")
        so_far = sent[: sent.index("SELECT 'marker'")]
        sent.clear()
        return so_far

    event.listen(db.engine.sync_engine, "connect", log_queries)
    event.listen(db.engine.sync_engine, "before_execute", record)
    await db.engine.dispose()  # the pool's connections are made again, with the logger
    try:
        caller = Caller(client, token=tokens["OWNER"])
        first = await caller.data(LIST)
        assert any(q.startswith("SELECT improvement_action.id") for q in await logged_so_far())
        through_sqlalchemy.clear()
        again = await caller.data(LIST)
        statements = await logged_so_far()
    finally:
        event.remove(db.engine.sync_engine, "connect", log_queries)
        event.remove(db.engine.sync_engine, "before_execute", record)
        await db.engine.dispose()
    assert again == first and first["improvementActions"]["totalCount"] == len(example.actions)
    assert through_sqlalchemy == []
    assert len(statements) == 1, statements
    assert statements[0].startswith("SELECT improvement_action.id"), statements


async def test_a_connection_lost_under_a_page_fails_that_request_only(
    client, db: Database, example: WorkedExample, tokens, monkeypatch
) -> None:
    """Dropped just after use (so taken unchecked), a connection fails the page read on it
    with 503 and Retry-After; the pool replaces its connections and the next one answers."""
    _postgresql_only(db)
    caller = Caller(client, token=tokens["OWNER"])
    before = await caller.data(LIST)  # the caller is known: the page is the first read
    borrowed = _count_calls(monkeypatch)
    monkeypatch.setattr(database, "RECENTLY_USED_SECONDS", 3600.0)  # never idle long enough
    assert await _drop_connections(db, but_listener=True) >= 1  # the caller stays known
    refused = await caller.post(LIST)
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"]
    assert await caller.data(LIST) == before
    assert len(borrowed) == 2


def _count_calls(monkeypatch: Any) -> list[Any]:
    """The pages read on the driver from now on."""
    calls: list[Any] = []
    read = driver_reads.read_borrowing

    async def counted(*args: Any) -> Any:
        calls.append(args)
        return await read(*args)

    monkeypatch.setattr("cmgraph.resolvers.reader.read_borrowing", counted)
    return calls


async def test_statement_listeners_see_every_page(
    api, db: Database, example: WorkedExample, tokens, monkeypatch
) -> None:
    """While anything listens to the engine's statements (tracing, the tests that count
    them), pages go through SQLAlchemy, so that it sees them."""
    _postgresql_only(db)
    borrowed = _count_calls(monkeypatch)
    with count_statements(db.engine) as statements:
        data = await api.query(LIST, {"filter": {}}, token=tokens["OWNER"])
    assert data["improvementActions"]["totalCount"] == len(example.actions)
    assert borrowed == []
    assert any(s.startswith("SELECT improvement_action.id") for s in statements), statements
    await api.query(LIST, {"filter": {}}, token=tokens["OWNER"])
    assert len(borrowed) == 1  # nothing listens any more


SIZED = """query ($first: Int!) {
  improvementActions(first: $first, filter: {implementationStatuses: [IMPLEMENTED]},
                     orderBy: {field: POINTS, direction: DESC}) {
    totalCount
    nodes { id title points assignee { name } }
  }
}"""


async def test_a_page_statement_keeps_one_plan_on_postgresql(
    api, db: Database, example: WorkedExample, tokens, monkeypatch
) -> None:
    """The page size is written into a page statement's SQL, not bound: bound, PostgreSQL
    took it for a tenth of the list, found the plan it keeps for a prepared statement dearer
    than one made for each run's values, and planned the page again on every request (more
    work than running it). So each size is a statement of its own, with the same parameters,
    and the statement run again and again runs on the one plan PostgreSQL keeps for it."""
    _postgresql_only(db)
    monkeypatch.setattr(pages, "CHECK_KEPT_STATEMENTS", False)
    sent: list[tuple[Any, ...]] = []  # SQL, then arguments
    fetch = driver_reads.DriverRead.fetch

    async def recorded(read: Any, driver: Any, values: Any) -> Any:
        sent.append((read.sql, *read.arguments(values)))
        return await fetch(read, driver, values)

    monkeypatch.setattr(driver_reads.DriverRead, "fetch", recorded)
    for first in (3, 3, 7):
        await api.query(SIZED, {"first": first}, token=tokens["OWNER"])
    three, again, seven = sent
    assert three == again
    assert "LIMIT 4" in three[0] and "LIMIT 8" in seven[0]
    assert three[1:] == seven[1:]  # the same parameters

    raw = await db.engine.raw_connection()
    try:
        driver = raw.driver_connection
        for _ in range(8):  # PostgreSQL weighs keeping a plan after five runs
            await driver.fetch(*three)  # prepared once for the connection, as pages are
        generic, custom = await driver.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
            three[0],  # one: the driver prepares a statement once per connection
        )
    finally:
        raw.close()
    assert generic >= 3 and custom <= 5, (generic, custom)
