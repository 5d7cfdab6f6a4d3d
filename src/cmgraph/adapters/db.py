"""Database engine and the unit of work every domain service writes through."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg
from sqlalchemy import Insert, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Mapper, object_session

from cmgraph.adapters import signals, statistics

# Errors that say the database cannot be reached or cannot serve now, as opposed to errors
# in what was asked of it (constraint violations, bad SQL). asyncpg's connect errors are
# not wrapped by SQLAlchemy, so they appear raw.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no pooled connection came free in time
    asyncpg.PostgresConnectionError,  # connection failure, connection gone (class 08)
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,  # connect timeout
    socket.gaierror,  # the host name does not resolve
)
# SQLite reports both outages and mistakes as OperationalError; these are the outages.
_SQLITE_UNAVAILABLE = (
    "unable to open database file",
    "database is locked",  # still, after the busy timeout
    "disk i/o error",
    "database or disk is full",
    "readonly database",
)
_NETWORK_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.ETIMEDOUT}
)


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) means the database is unreachable for now.

    Such failures are the server's environment, not its code: they are answered with 503
    and ``Retry-After`` and logged in one line, not as bugs with a traceback.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa_exc.OperationalError) and any(
            phrase in str(current.orig).lower() for phrase in _SQLITE_UNAVAILABLE
        ):
            return True
        if isinstance(current, OSError) and current.errno in _NETWORK_ERRNOS:
            return True
        # Causes only: an error raised while handling an outage is not itself one.
        pending += [current.__cause__, getattr(current, "orig", None)]
        if isinstance(current, BaseExceptionGroup):
            pending += current.exceptions
    return False


CONNECT_TIMEOUT_SECONDS = 10
DEFAULT_POOL_SIZE = 20  # ``Settings.db_pool_size``


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, pool_size: int = DEFAULT_POOL_SIZE, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, enforced foreign keys and a busy timeout.

    On PostgreSQL the pool keeps up to ``pool_size`` connections open, and makes no more: a
    connection made beyond the pool's size would be closed again as soon as it came back,
    so a steady load above it paid a new connection (and its statements prepared anew) for
    many requests. It hands out the connection given back last (LIFO): under a light load
    one or two connections do the work, so their prepared statements and the plans
    PostgreSQL keeps for them are warm, they skip the check an idle connection gets, and
    the others stay idle; taken in turn, each of them prepared and planned every statement
    anew before its plans settled.
    """
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", pool_size)
    kwargs.setdefault("max_overflow", 0)
    kwargs.setdefault("pool_use_lifo", True)
    # A database host that stops answering (rather than refusing) would otherwise hold each
    # request for asyncpg's default minute before it can be told to retry.
    kwargs["connect_args"] = {"timeout": CONNECT_TIMEOUT_SECONDS, **kwargs.get("connect_args", {})}
    engine = create_async_engine(url, **kwargs)
    _ping_in_one_round_trip(engine)
    _check_idle_connections(engine)
    return engine


# A connection given back to the pool this recently is taken again without a check: it was
# working a moment ago, and under load the check would be a round trip on every request.
RECENTLY_USED_SECONDS = 1.0
_RETURNED_AT = "cmgraph_returned_at"  # in a connection's ``info`` (cleared when it closes)


def _check_idle_connections(engine: AsyncEngine) -> None:
    """The pool's check before use (SQLAlchemy's pre-ping), for connections idle a while.

    A connection the server dropped while it sat in the pool (a restart, a failover, an idle
    timeout) is replaced before a request sees it, as with pre-ping; only a connection given
    back within ``RECENTLY_USED_SECONDS`` goes unchecked. If the server goes in that second,
    the request using it fails with the database unavailable (503, Retry-After), and the
    pool, told of the disconnect, replaces every older connection.
    """
    sync = engine.sync_engine
    dialect = sync.dialect

    def stamp(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at < RECENTLY_USED_SECONDS:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:  # the pool replaces it, and every connection older than it
            raise sa_exc.InvalidatePoolError()

    event.listen(sync, "connect", stamp)  # a new connection needs no check
    event.listen(sync, "checkin", stamp)
    event.listen(sync, "checkout", check)


def _ping_in_one_round_trip(engine: AsyncEngine) -> None:
    """The pool's check of a connection before use as one statement, not three.

    SQLAlchemy's asyncpg adapter wraps that check in BEGIN ... ROLLBACK unless the
    connection is in autocommit mode, for PgBouncer's transaction pooling (where a lone
    statement may reach another server connection). A connection checked out of the pool
    holds no transaction, and the check is only whether the connection still answers, so it
    is sent alone. An adapter without the attribute this relies on keeps its own check.
    """
    dialect = engine.sync_engine.dialect
    ping = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        level = getattr(dbapi_connection, "isolation_level", _ABSENT)
        if level is _ABSENT or getattr(dbapi_connection, "_transaction", None) is not None:
            return ping(dbapi_connection)
        dbapi_connection.isolation_level = "autocommit"
        try:
            return ping(dbapi_connection)
        finally:
            dbapi_connection.isolation_level = level

    dialect.do_ping = do_ping  # type: ignore[method-assign]


_ABSENT = object()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver would begin a transaction only before the first write, so a SAVEPOINT
    # after a read would open (and its release commit) a transaction of its own: take over
    # and begin every transaction explicitly (``_sqlite_begin``).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A unit of work takes the write lock up front (waiting out the busy timeout if need
    # be): a transaction that read first and wrote later would otherwise fail at once with
    # "database is locked" whenever another writer committed in between.
    immediate = connection.get_execution_options().get(_WRITE_OPTION)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@lru_cache(maxsize=16)
def _writer(engine: AsyncEngine) -> AsyncEngine:
    """The engine as units of work use it: its connections begin as writers."""
    return engine.execution_options(**{_WRITE_OPTION: True})


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for a request's reads: on PostgreSQL without BEGIN and ROLLBACK.

    Under READ COMMITTED every statement takes its own snapshot, in a transaction or not,
    so a read-only request's transaction brought nothing but two more round trips. Reads
    that need one snapshot across statements (exports) ask for REPEATABLE READ themselves.
    SQLite keeps its transactions: a read there holds the file's snapshot, which WAL keeps
    cheap, and ``_sqlite_begin`` needs them.
    """
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return session_factory(engine)


# Execution option that marks a unit of work's connection (see ``_sqlite_begin``).
_WRITE_OPTION = "cmgraph_write"
# Session.info key: channel -> highest id written in this transaction (see ``_note_written``).
_WRITTEN = "cmgraph_written"


@lru_cache(maxsize=32)
def adding_upsert(
    dialect: str, model: type[Any], key: tuple[str, ...], counters: tuple[str, ...]
) -> Insert:
    """An INSERT into ``model``'s table that, where a row with the same ``key`` exists, adds
    the new row's ``counters`` to it instead; execute it with a list of rows. Concurrent
    writers each add their own, so deltas kept this way commute. One statement per shape,
    so its SQL is compiled once."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = model.__table__  # Core: no ORM bulk machinery for plain counters
    statement = insert(table)
    columns = table.c
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: columns[name] + statement.excluded[name] for name in counters},
    )


@event.listens_for(Mapper, "after_insert")
def _inserted(mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    _note_written(mapper, target, signals.TABLE_CHANNELS)


@event.listens_for(Mapper, "after_update")
def _updated(mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    _note_written(mapper, target, signals.UPDATE_TABLES)


def _note_written(mapper: Mapper[Any], target: Any, tables: Collection[str]) -> None:
    """Remember that this transaction wrote a watched row (an event, alert, notification).

    Per flushed row, looked up by table name so that this module needs no domain models.
    Bulk ``UPDATE`` statements are not seen: consumers poll as well.
    """
    # Typed as any FromClause, which has no name; every model here maps a Table.
    table = mapper.local_table.name  # type: ignore[attr-defined]
    if table not in tables:
        return
    session = object_session(target)
    if session is None:
        return
    channel = signals.TABLE_CHANNELS[table]
    written: dict[str, int] = session.info.setdefault(_WRITTEN, {})
    written[channel] = max(written.get(channel, 0), getattr(target, "id", 0) or 0)


class UnitOfWork:
    """One transaction: everything a service does commits together or not at all.

    Work that must happen only once the change is durable (removing files, waking
    subscribers) is registered with ``after_commit`` and skipped on rollback. Events,
    alerts and notifications written here wake their consumers: on PostgreSQL by a NOTIFY
    sent inside the transaction (delivered to other processes only if it commits), and in
    this process by a signal fired after commit. A rollback sends nothing.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self._stale: set[str] = set()  # tables whose statistics to refresh after commit
        self.session: AsyncSession
        self._dialect = ""  # the engine's, once entered
        self.committed = False  # whatever fails afterwards, the change is durable

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(callback)

    def wake(self, channel: str) -> None:
        """Wake ``channel``'s consumers once this unit of work commits (in every process, on
        PostgreSQL), for changes no watched table shows (``signals.CHANNELS``)."""
        written: dict[str, int] = self.session.info.setdefault(_WRITTEN, {})
        written.setdefault(channel, 0)

    def refresh_statistics(self, *tables: str) -> None:
        """Once this unit of work commits, bring the planner's statistics of ``tables`` up to
        date (``adapters.statistics``): for work that writes many rows at once. Tables named
        several times in one unit of work are analysed once."""
        if not self._stale:
            self.after_commit(self._refresh_statistics)
        self._stale.update(tables)

    async def _refresh_statistics(self) -> None:
        tables, self._stale = self._stale, set()
        await statistics.refresh_statistics(self._sessions.kw["bind"], tables)

    async def discard(self) -> None:
        """Undo everything done so far and carry on in a fresh transaction (dry runs).

        Nothing discarded is committed, wakes a consumer or runs an ``after_commit`` callback.
        """
        await self.session.rollback()
        self.session.info.pop(_WRITTEN, None)
        self._after_commit.clear()
        self._stale.clear()
        await self._begin()

    async def __aenter__(self) -> UnitOfWork:
        # The transaction (and on SQLite the write lock) begins with the first statement,
        # so work done before it, such as parsing an upload, holds nothing.
        engine = _writer(self._sessions.kw["bind"])
        self._dialect = engine.dialect.name
        self.session = self._sessions(bind=engine)
        await self._begin()
        return self

    async def _begin(self) -> None:
        await self.session.begin()

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        written: dict[str, int] = {}
        try:
            if exc_type is None:
                await self.session.flush()
                written = self.session.info.pop(_WRITTEN, None) or {}
                if written and self._dialect == "postgresql":
                    for channel, last_id in sorted(written.items()):
                        await self.session.execute(
                            text("SELECT pg_notify(:channel, :payload)"),
                            {"channel": channel, "payload": str(last_id)},
                        )
                await self.session.commit()
                self.committed = True
            else:
                await self.session.rollback()
                self._after_commit.clear()
        except BaseException:
            written = {}
            raise
        finally:
            self.session.info.pop(_WRITTEN, None)
            await self.session.close()
        if signals.CREDENTIALS_CHANNEL in written and self._dialect == "sqlite":
            # No NOTIFY on SQLite: other processes on the file read the beacon instead.
            url = self._sessions.kw["bind"].url.render_as_string(hide_password=False)
            beacon = signals.FileBeacon.beside(url, signals.CREDENTIALS_CHANNEL)
            if beacon is not None:
                beacon.ring()
        signals.fire_channels(written)
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            await callback()


@asynccontextmanager
async def read_session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session
