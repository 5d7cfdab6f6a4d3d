"""A SELECT compiled once and run on PostgreSQL's driver (asyncpg) itself.

A list page's statement is kept per shape (``resolvers.pages``) and run again and again
with new values. Through SQLAlchemy each run still looks the compiled form up in its cache,
renders the ``IN`` lists for their lengths, wraps the driver's cursor, and converts every
value of every row: a quarter of a list request's work, more than PostgreSQL's. Here the
statement is compiled once, its ``IN`` lists become ``= ANY($n)`` over one array (so the
SQL is the same whatever their lengths, and PostgreSQL prepares it once per connection),
and only the columns whose type converts values (enums) are converted.

The conversions are SQLAlchemy's own, taken from the compiled statement, so values go in
and come out as they do through SQLAlchemy; with ``resolvers.pages.CHECK_KEPT_STATEMENTS``
(on in the tests) ``Reader.kept_columns`` reads each page both ways and compares them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Enum
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select
from sqlalchemy.util import greenlet_spawn

_CONSTANT = "constant_"  # ``domain.clause_shapes.constant``: its value is the statement's
# SQLAlchemy renders an IN over a list bound by name as this, expanded at each run.
_EXPANDING_IN = re.compile(r"(NOT )?IN \(__\[POSTCOMPILE_(\w+)\]\)")
_LEFT_OVER = "__[POSTCOMPILE_"

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Parameter:
    name: str
    many: bool  # a list, sent as one array
    convert: Processor
    constant: bool  # its value is the statement's (``value``); else the run's, by ``name``
    value: Any


@dataclass
class DriverRead:
    """A statement's SQL for asyncpg, what it binds in order, and its columns."""

    sql: str
    parameters: tuple[_Parameter, ...]
    names: tuple[str, ...]
    types: tuple[Any, ...]  # the columns' SQLAlchemy types
    dialect: Dialect
    # Column index and conversion, for the columns that convert: known at the first run
    # (a type's conversion may depend on the type the database reports).
    converted: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for p in self.parameters:
            value = p.value if p.constant else values[p.name]
            if p.many:
                value = [p.convert(v) for v in value] if p.convert else list(value)
            elif p.convert is not None:
                value = p.convert(value)
            arguments.append(value)
        return arguments

    async def fetch(self, driver: Any, values: Mapping[str, Any]) -> list[list[Any]]:
        """The rows, as lists, read on asyncpg's ``driver`` connection."""
        if self.converted is None:
            self.converted = self._conversions(await driver.prepare(self.sql))
        records = await driver.fetch(self.sql, *self.arguments(values))
        rows = [list(record) for record in records]
        for i, convert in self.converted:
            for row in rows:
                row[i] = convert(row[i])
        return rows

    def _conversions(self, prepared: Any) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        dialect = self.dialect
        found = []
        for i, (type_, attribute) in enumerate(
            zip(self.types, prepared.get_attributes(), strict=True)
        ):
            impl = type_.dialect_impl(dialect)
            convert = impl.result_processor(dialect, attribute.type.oid)
            if convert is not None and isinstance(impl, Enum):  # a few values: look them up
                table = {stored: convert(stored) for stored in (*impl.enums, None)}
                convert = table.__getitem__  # a value outside them fails, as it would there
            if convert is not None:
                found.append((i, convert))
        return tuple(found)


def driver_read(statement: Select[Any], dialect: Dialect) -> DriverRead | None:
    """``statement`` compiled for asyncpg; None where it cannot be run directly (another
    driver, or SQL this module does not rewrite)."""
    if dialect.driver != "asyncpg":
        return None
    compiled = statement.compile(dialect=dialect)
    binds = compiled.binds
    processors: Mapping[str, Any] = compiled._bind_processors  # what SQLAlchemy applies
    plain = [name for name in compiled.positiontup or () if not binds[name].expanding]
    numbers = {name: i + 1 for i, name in enumerate(plain)}
    lists: list[str] = []

    def as_array(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in numbers:
            numbers[name] = len(numbers) + 1
            lists.append(name)
        return f"{'<> ALL' if match.group(1) else '= ANY'}(${numbers[name]})"

    sql = _EXPANDING_IN.sub(as_array, compiled.string)
    if _LEFT_OVER in sql:
        return None

    def parameter(name: str) -> _Parameter:
        bind = binds[name]
        constant = name.startswith(_CONSTANT)
        value = bind.effective_value if constant else None
        return _Parameter(name, bind.expanding, processors.get(name), constant, value)

    columns = statement.selected_columns
    return DriverRead(
        sql=sql,
        parameters=tuple(parameter(name) for name in (*plain, *lists)),
        names=tuple(columns.keys()),
        types=tuple(c.type for c in columns),
        dialect=dialect,
    )


def run_directly(engine: AsyncEngine) -> bool:
    """Whether reads through ``engine`` may skip SQLAlchemy: not while anything listens to
    its statements (the tests that count them, tracing), which would then miss them."""
    dispatch = engine.sync_engine.dispatch
    return not (dispatch.before_cursor_execute or dispatch.after_cursor_execute)


async def read_borrowing(
    read: DriverRead, engine: AsyncEngine, values: Mapping[str, Any]
) -> list[list[Any]]:
    """``read`` on a connection borrowed from ``engine``'s pool for it alone, without the
    SQLAlchemy connection and session a request would otherwise set up around it. The
    connection holds no transaction: the statement runs on its own, as a request's reads
    do on PostgreSQL (``adapters.db.read_session_factory``)."""
    raw = await engine.raw_connection()
    driver = raw.driver_connection
    try:
        return await read.fetch(driver, values)
    except Exception as error:
        # SQLAlchemy's test, whatever asyncpg raised: whether the connection is closed now.
        if driver is None or not driver.is_closed():
            raise
        # As SQLAlchemy does when a connection is lost: the pool replaces it and every
        # connection older than it (the server that dropped one likely dropped them all).
        await greenlet_spawn(engine.sync_engine.pool._invalidate, raw, error)
        raise sa_exc.DisconnectionError(f"the database connection was lost: {error}") from error
    finally:
        await greenlet_spawn(raw.close)  # back to the pool (closing may talk to the driver)
