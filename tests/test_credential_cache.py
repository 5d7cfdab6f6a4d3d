"""Tokens and sessions served from the per-process credential cache: no statements on a
repeated request, and every change to credentials or rights seen by the very next one."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy import exc as sa_exc

from cmgraph.adapters import db as database
from cmgraph.adapters import signals
from cmgraph.adapters.db import UnitOfWork
from cmgraph.config import Settings
from cmgraph.domain import accounts, clock, people
from cmgraph.domain.credential_cache import CredentialCache, KnownToken
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import ApiToken, SignInSession, utcnow
from cmgraph.domain.permissions import Principal
from cmgraph.domain.sign_in import SessionPolicy, open_session
from cmgraph.http.app import create_app
from tests.databases import Database
from tests.graphql_ws import wait_until
from tests.report_data import count_statements

TYPENAME = "{ __typename }"  # needs no database: whatever it sends is signing in
VIEWER = "{ viewer { role } assessments { nodes { name } } }"
AUTH_TABLES = ("api_token", "sign_in_session", "access_grant", "user_account")


@pytest.fixture
async def listening(db: Database) -> AsyncIterator[signals.PgListener | None]:
    """What a server process runs beside its requests on PostgreSQL: the LISTEN connection."""
    if db.engine.dialect.name != "postgresql":
        yield None
        return
    listener = signals.PgListener(db.url)
    await listener.start()
    try:
        yield listener
    finally:
        await listener.stop()


@pytest.fixture
async def client(
    db: Database, settings: Settings, listening: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db.engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        yield client


class Caller:
    """One credential: a Bearer token or a session cookie (with the CSRF header)."""

    def __init__(self, client: httpx.AsyncClient, *, token: str = "", session: str = "") -> None:
        self.client = client
        if token:
            self.headers = {"Authorization": f"Bearer {token}"}
        else:
            self.headers = {"Cookie": f"cmgraph_session={session}", "X-CMGraph-CSRF": "1"}

    async def post(self, query: str) -> httpx.Response:
        return await self.client.post("/graphql", json={"query": query}, headers=self.headers)

    async def data(self, query: str) -> dict[str, Any]:
        response = await self.post(query)
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text
        return dict(response.json()["data"])


async def _person(db: Database, email: str, role: OrgRole | None) -> int:
    async with UnitOfWork(db.sessions) as uow:
        return (await accounts.create_user(uow, email, email.split("@")[0], role)).id


async def _token(db: Database, user_id: int) -> accounts.IssuedToken:
    async with UnitOfWork(db.sessions) as uow:
        user = await people.user_to_manage(uow, user_id)
        return await accounts.create_token(uow, user, "cache test")


async def _session(db: Database, user_id: int) -> str:
    async with UnitOfWork(db.sessions) as uow:
        user = await people.user_to_manage(uow, user_id)
        policy = SessionPolicy.of(Settings.from_env({}))
        started = await open_session(uow, policy, user, address="test", user_agent="", now=utcnow())
        return started.secret


async def _caller(db: Database, client: httpx.AsyncClient, kind: str, user_id: int) -> Caller:
    if kind == "token":
        return Caller(client, token=(await _token(db, user_id)).secret)
    return Caller(client, session=await _session(db, user_id))


async def _statements(db: Database, call: Awaitable[Any]) -> list[str]:
    with count_statements(db.engine) as statements:
        await call
    return list(statements)


def _auth(statements: list[str]) -> list[str]:
    return [s for s in statements if any(table in s for table in AUTH_TABLES)]


@pytest.fixture
async def owner_id(db: Database) -> int:
    return await _person(db, "owner@cache.test", OrgRole.OWNER)


@pytest.fixture
def owner_actor(owner_id: int) -> Principal:
    return Principal(owner_id, OrgRole.OWNER)


@pytest.mark.parametrize("kind", ["token", "session"])
async def test_a_repeated_request_sends_no_statement_to_sign_in(
    db: Database, client: httpx.AsyncClient, owner_id: int, kind: str
) -> None:
    caller = await _caller(db, client, kind, owner_id)
    first = await _statements(db, caller.data(TYPENAME))
    second = await _statements(db, caller.data(TYPENAME))
    # The first reads the credential with its user, then the grants (and writes its use:
    # a token's first one; a session's was written when it opened).
    assert len(_auth(first)) == (3 if kind == "token" else 2), first
    assert second == []
    # A read of data pays only for the data: the credential is not read again.
    reading = await _statements(db, caller.data(VIEWER))
    assert not [s for s in reading if "api_token" in s or "sign_in_session" in s], reading


@pytest.mark.parametrize("kind", ["token", "session"])
async def test_last_use_is_still_written_once_a_minute(
    db: Database, client: httpx.AsyncClient, owner_id: int, kind: str
) -> None:
    caller = await _caller(db, client, kind, owner_id)
    start = utcnow()
    clock.run_from(start)
    await caller.data(TYPENAME)
    clock.advance(timedelta(seconds=30))
    assert await _statements(db, caller.data(TYPENAME)) == []
    clock.advance(timedelta(seconds=31))  # 61 s after the last written use
    later = await _statements(db, caller.data(TYPENAME))
    assert any(s.lstrip().upper().startswith("UPDATE") for s in later), later
    async with db.sessions() as session:
        column = ApiToken.last_used_at if kind == "token" else SignInSession.last_seen_at
        written = max(d for d in (await session.scalars(select(column))).all() if d is not None)
    assert written >= start + timedelta(seconds=61)
    assert await _statements(db, caller.data(TYPENAME)) == []


async def _revoke_token(db: Database, actor: Principal, user_id: int) -> None:
    async with UnitOfWork(db.sessions) as uow:
        token_ids = await uow.session.scalars(
            select(ApiToken.id).where(ApiToken.user_id == user_id)
        )
        for token_id in list(token_ids):
            await people.revoke_api_token(uow, actor, token_id)


async def _end_sessions(db: Database, actor: Principal, user_id: int) -> None:
    async with UnitOfWork(db.sessions) as uow:
        await people.end_sessions(uow, actor, user_id)


async def _end_one_session(db: Database, actor: Principal, user_id: int) -> None:
    async with UnitOfWork(db.sessions) as uow:
        ids = await uow.session.scalars(
            select(SignInSession.id).where(SignInSession.user_id == user_id)
        )
        for session_id in list(ids):
            await people.end_session(uow, actor, session_id)


async def _disable(db: Database, actor: Principal, user_id: int) -> None:
    async with UnitOfWork(db.sessions) as uow:
        await people.update_user(uow, actor, user_id, {"disabled": True})


REFUSALS: dict[str, tuple[str, Callable[[Database, Principal, int], Awaitable[None]]]] = {
    "revoked token": ("token", _revoke_token),
    "disabled token user": ("token", _disable),
    "ended session": ("session", _end_one_session),
    "ended sessions": ("session", _end_sessions),
    "disabled session user": ("session", _disable),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_the_next_request_after_a_change_is_refused(
    db: Database, client: httpx.AsyncClient, owner_id: int, owner_actor: Principal, case: str
) -> None:
    kind, change = REFUSALS[case]
    user_id = await _person(db, "robot@cache.test", OrgRole.READER)
    caller = await _caller(db, client, kind, user_id)
    await caller.data(TYPENAME)
    assert await _statements(db, caller.data(TYPENAME)) == []  # served from the cache
    await change(db, owner_actor, user_id)
    refused = await caller.post(TYPENAME)
    assert refused.status_code == 401, refused.text


@pytest.mark.parametrize("kind", ["token", "session"])
async def test_role_and_grant_changes_apply_to_the_next_request(
    db: Database,
    client: httpx.AsyncClient,
    owner_actor: Principal,
    example: Any,
    kind: str,
) -> None:
    user_id = await _person(db, "pat@cache.test", None)
    caller = await _caller(db, client, kind, user_id)
    assert (await caller.data(VIEWER))["assessments"]["nodes"] == []
    async with UnitOfWork(db.sessions) as uow:
        granted = await people.grant_access(
            uow, owner_actor, user_id, OrgRole.READER, assessment_id=example.a1.id
        )
    seen = await caller.data(VIEWER)
    assert [n["name"] for n in seen["assessments"]["nodes"]] == [example.a1.name]
    await caller.data(VIEWER)
    async with UnitOfWork(db.sessions) as uow:
        await people.revoke_grant(uow, owner_actor, granted.id)
    assert (await caller.data(VIEWER))["assessments"]["nodes"] == []
    async with UnitOfWork(db.sessions) as uow:
        await people.update_user(uow, owner_actor, user_id, {"role": OrgRole.READER})
    seen = await caller.data(VIEWER)
    assert seen["viewer"]["role"] == "READER" and len(seen["assessments"]["nodes"]) == 3
    async with UnitOfWork(db.sessions) as uow:
        await people.update_user(uow, owner_actor, user_id, {"role": None})
    seen = await caller.data(VIEWER)
    assert seen["viewer"]["role"] is None and seen["assessments"]["nodes"] == []


async def test_a_token_revoked_by_another_process_is_refused(
    db: Database, client: httpx.AsyncClient, owner_id: int, tmp_path: Path
) -> None:
    """The CLI, a process of its own, revokes the token: on PostgreSQL its NOTIFY reaches
    this process's listener; on SQLite the next request reads the beacon it rang."""
    issued = await _token(db, owner_id)
    caller = Caller(client, token=issued.secret)
    await caller.data(TYPENAME)
    assert await _statements(db, caller.data(TYPENAME)) == []
    seen = signals.credentials_changed.generation
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cmgraph",
        "tokens",
        "revoke",
        str(issued.token.id),
        env={**os.environ, "CMGRAPH_DATABASE_URL": db.url, "CMGRAPH_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await cli.communicate()
    assert cli.returncode == 0, (out, err)
    if db.engine.dialect.name == "postgresql":
        await wait_until(lambda: signals.credentials_changed.generation != seen, "the NOTIFY")
    else:
        assert signals.credentials_changed.generation == seen  # no signal crossed over
    refused = await caller.post(TYPENAME)
    assert refused.status_code == 401, refused.text


async def test_without_a_connected_listener_nothing_is_served_from_the_cache(
    db: Database, settings: Settings, owner_id: int
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no listener to lose")
    app = create_app(settings, db.engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://cmgraph.test"
    ) as client:
        caller = Caller(client, token=(await _token(db, owner_id)).secret)
        await caller.data(TYPENAME)
        assert len(_auth(await _statements(db, caller.data(TYPENAME)))) == 2  # no listener
        listener = signals.PgListener(db.url)
        await listener.start()
        try:
            await caller.data(TYPENAME)
            assert await _statements(db, caller.data(TYPENAME)) == []
        finally:
            await listener.stop()
        dsn = signals.asyncpg_dsn(db.url) or ""
        assert not signals.relayed(dsn, signals.CREDENTIALS_CHANNEL)
        assert len(_auth(await _statements(db, caller.data(TYPENAME)))) == 2  # stopped


async def test_a_look_up_read_before_a_change_is_not_kept(db: Database, listening: Any) -> None:
    """A change committed while a look-up reads drops what that look-up read."""
    cache = CredentialCache.of(db.sessions)
    known = KnownToken(Principal(1, OrgRole.OWNER), 1, None, None, utcnow())
    ticket = cache.ticket()
    assert ticket.stamp is not None
    signals.credentials_changed.fire()
    cache.store(ticket, "a" * 64, known)
    assert cache.token("a" * 64) is None
    cache.store(cache.ticket(), "a" * 64, known)
    assert cache.token("a" * 64) == known
    assert cache.session("a" * 64) is None  # a token's digest never names a session


async def test_the_cache_keeps_the_most_recently_used(tmp_path: Path) -> None:
    cache = CredentialCache(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", size=2)
    entries = {
        d: KnownToken(Principal(i, OrgRole.READER), i, None, None, utcnow())
        for i, d in enumerate("abc")
    }
    cache.store(cache.ticket(), "a", entries["a"])
    cache.store(cache.ticket(), "b", entries["b"])
    assert cache.token("a") is not None  # now the most recent
    cache.store(cache.ticket(), "c", entries["c"])
    assert len(cache) == 2 and cache.token("b") is None and cache.token("a") is not None
    beacon = signals.FileBeacon.beside(
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", signals.CREDENTIALS_CHANNEL
    )
    assert beacon is not None
    beacon.ring()  # another process changed credentials
    assert cache.token("a") is None and len(cache) == 0


async def test_a_read_sends_nothing_but_its_statements(
    db: Database, client: httpx.AsyncClient, owner_id: int, monkeypatch
) -> None:
    """On PostgreSQL a read request, its caller known, sends its reads and nothing else: no
    BEGIN or ROLLBACK around them (autocommit reads), and no check of a connection given
    back to the pool a moment ago. A connection idle for longer is checked with one
    statement (not three)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite reads in a transaction of the file")
    caller = Caller(client, token=(await _token(db, owner_id)).secret)
    await caller.data(VIEWER)  # signs in, stamps the token's first use, fills the cache
    # asyncpg tells its query loggers of every statement but the prepared ones (the reads).
    unprepared: list[str] = []

    def log_queries(_connection: Any, record: Any) -> None:
        record.driver_connection.add_query_logger(lambda query: unprepared.append(query.query))

    event.listen(db.engine.sync_engine, "connect", log_queries)
    await db.engine.dispose()  # the pool's connections are made again, with the logger
    try:
        await caller.data(VIEWER)  # on a new connection, which needs no check
        unprepared.clear()
        reads = await _statements(db, caller.data(VIEWER))
        assert unprepared == []  # the connection came back a moment ago: no check
        monkeypatch.setattr(database, "RECENTLY_USED_SECONDS", 0.0)
        await caller.data(VIEWER)
    finally:
        event.remove(db.engine.sync_engine, "connect", log_queries)
        await db.engine.dispose()
    assert unprepared == [";"]  # the check alone: no BEGIN, no ROLLBACK
    assert reads and all(s.lstrip().upper().startswith("SELECT") for s in reads), reads


async def _drop_connections(db: Database, *, but_listener: bool = False) -> int:
    """End every other session on the test's database, as a restart would; how many.

    ``but_listener``: not the LISTEN connection's (whose loss empties the credential cache).
    """
    connection = await asyncpg.connect(db.url.replace("postgresql+asyncpg", "postgresql"))
    try:
        ended = await connection.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
            + (" AND query NOT LIKE 'LISTEN%'" if but_listener else "")
        )
    finally:
        await connection.close()
    return len(ended)


async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    db: Database, client: httpx.AsyncClient, owner_id: int, monkeypatch
) -> None:
    """The database ends the pool's connections (a restart, a failover); a request after
    they sat idle gets new ones, checked, and answers as if nothing happened."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: a SQLite connection has no server to drop it")
    caller = Caller(client, token=(await _token(db, owner_id)).secret)
    before = await caller.data(VIEWER)
    assert await _drop_connections(db) >= 1
    monkeypatch.setattr(database, "RECENTLY_USED_SECONDS", 0.0)  # all of them idle since
    assert await caller.data(VIEWER) == before
    assert await caller.data(VIEWER) == before


async def test_a_connection_dropped_just_after_use_fails_one_request_only(
    db: Database, client: httpx.AsyncClient, owner_id: int, monkeypatch
) -> None:
    """Dropped within a second of its last use, a connection is used unchecked: that request
    is told the database is unavailable (503, retry), and the pool replaces its connections
    for the next."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: a SQLite connection has no server to drop it")
    caller = Caller(client, token=(await _token(db, owner_id)).secret)
    before = await caller.data(VIEWER)
    monkeypatch.setattr(database, "RECENTLY_USED_SECONDS", 3600.0)  # never idle long enough
    assert await _drop_connections(db) >= 1
    refused = await caller.post(VIEWER)
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"]
    assert await caller.data(VIEWER) == before


async def test_the_pool_keeps_its_size_and_makes_no_more(db: Database) -> None:
    """``CMGRAPH_DB_POOL_SIZE`` connections, each kept once made; a request finding them all
    busy waits for one rather than opening (and soon closing) another."""
    with pytest.raises(ValueError, match="CMGRAPH_DB_POOL_SIZE"):
        Settings.from_env({"CMGRAPH_DB_POOL_SIZE": "0"})
    assert Settings.from_env({"CMGRAPH_DB_POOL_SIZE": "3"}).db_pool_size == 3
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's pool is SQLAlchemy's own")
    engine = database.create_engine(db.url, pool_size=2, pool_timeout=0.05)
    try:
        async with engine.connect() as one, engine.connect() as two:
            pids = {await c.scalar(select(func.pg_backend_pid())) for c in (one, two)}
            with pytest.raises(sa_exc.TimeoutError):
                async with engine.connect():
                    pass
        for _ in range(3):  # both came back to the pool and stay open
            async with engine.connect() as again:
                assert await again.scalar(select(func.pg_backend_pid())) in pids
        assert engine.pool.checkedin() == 2  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
