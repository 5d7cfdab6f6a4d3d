"""Planner statistics brought up to date after bulk work.

The database plans each statement from statistics about the tables (rows, distinct values),
and refreshes them on its own only after enough rows changed: PostgreSQL's autovacuum
within a minute or so when it is on (never when it is off), SQLite never. After a template
import or a new assessment, thousands of rows are new at once; until the statistics follow,
the planner may take 25 rows for 20,000 and choose a plan several times slower (a deep list
page took 229 ms before ``ANALYZE`` and 33 ms after). So the units of work that write in
bulk name the tables they changed (``UnitOfWork.refresh_statistics``), and once they commit
the tables are analysed:
``ANALYZE`` on PostgreSQL, and on SQLite ``ANALYZE`` with ``PRAGMA analysis_limit`` (which
bounds its work to a sample, as PostgreSQL's own sampling does).

It runs on a connection of its own, so the request's pool is not held, and waits for the
work to finish: the bulk operation it follows takes longer anyway. Statistics only guide the
planner, so a failure is logged and the committed change stands.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# Rows SQLite examines per index: a sample, as PostgreSQL's ANALYZE takes (SQLite's
# documentation suggests 100 to 1000).
SQLITE_ANALYSIS_LIMIT = 1000


async def refresh_statistics(engine: AsyncEngine, tables: Iterable[str]) -> None:
    """Analyse ``tables`` (names from the models, never from input) of ``engine``'s database."""
    names = sorted(set(tables))
    if not names:
        return
    url = engine.url.render_as_string(hide_password=False)
    sqlite = engine.dialect.name == "sqlite"
    own = create_async_engine(
        url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": 30} if sqlite else {},  # ANALYZE writes: wait out writers
    )
    quote = own.dialect.identifier_preparer.quote
    try:
        async with own.connect() as connection:
            if sqlite:
                await connection.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
                for name in names:
                    await connection.execute(text(f"ANALYZE {quote(name)}"))
            else:
                await connection.execute(text(f"ANALYZE {', '.join(quote(n) for n in names)}"))
    except Exception as error:
        log.warning("planner statistics of %s not refreshed: %r", ", ".join(names), error)
    finally:
        await own.dispose()
