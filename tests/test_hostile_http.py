"""Hostile input and faults over HTTP and WebSocket: every failure gets a clean answer.

Malformed requests get 400 (or 405, 415) with a JSON error body; WebSocket messages of the
wrong shape close the socket with 4400; a client that vanishes mid-upload costs an info
line and leaves no file; while the database is unreachable every request gets 503 JSON
with ``Retry-After`` (WebSocket: close 1013), and the server recovers by itself.

The outage is real on both backends: on SQLite the database's folder is moved away and
back, on PostgreSQL the server talks to the database through a TCP proxy that the test
cuts (listener closed, connections dropped) and restores.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool
from strawberry.relay import to_base64

from cmgraph.adapters.db import UnitOfWork, create_engine, session_factory
from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.enums import OrgRole
from cmgraph.http.app import create_app
from cmgraph.resolvers.reader import Reader
from tests.builders import worked_example
from tests.databases import POSTGRES_URL, Database
from tests.graphql_ws import WsClient, uvicorn_server, wait_until

QUERY = "{ assessments { totalCount } }"
# Loggers of the HTTP and WebSocket surface: none of them may log an error in these tests.
SURFACE = ("cmgraph.http", "cmgraph.graphql", "cmgraph.subscriptions", "uvicorn", "strawberry")


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def surface_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(SURFACE)
    ]


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The first error of a JSON error response (failing on a plain-text one)."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.json()["errors"][0]


@dataclass
class World:
    token: str
    action_id: str  # an ImprovementAction global id


async def make_world(sessions: async_sessionmaker[AsyncSession]) -> World:
    async with UnitOfWork(sessions) as u:
        user = await accounts.create_user(u, "owner@hostile.test", "Owner", OrgRole.OWNER)
        owner = await accounts.principal_for(u, user)
        token = (await accounts.create_token(u, user, "hostile")).secret
    async with UnitOfWork(sessions) as u:
        example = await worked_example(u, owner)
    return World(token, to_base64("ImprovementAction", example.actions["T1"].id))


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {}, data_dir=tmp_path / "data", public_url="http://cmgraph.test", background_work=False
    )


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db.sessions)


@pytest.fixture
def watch_uvicorn(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], None]]:
    """Call once uvicorn has started (its logging setup drops other handlers): its errors,
    such as "Exception in ASGI application", then reach ``caplog`` too."""
    added: list[logging.Logger] = []

    def watch() -> None:
        logger = logging.getLogger("uvicorn.error")
        logger.addHandler(caplog.handler)
        added.append(logger)

    yield watch
    for logger in added:
        logger.removeHandler(caplog.handler)


# -- malformed requests ---------------------------------------------------------------------

BAD_BODIES = {
    "a string": (b'"abc"', "got a string"),
    "a number": (b"42", "got a number"),
    "null": (b"null", "got null"),
    "a list": (b"[1]", "Batching"),
    "invalid UTF-8": (b'{"query": "{ viewer { role } }", "x": "\xff\xfe"}', "UTF-8"),
    "not JSON": (b"{query", "not valid JSON"),
    "empty": (b"", "not valid JSON"),
    "variables 100,000 deep": (
        b'{"query": "query($v: JSON) { viewer { role } }", "variables": {"a": '
        + deep(100_000)
        + b"}}",
        "depth limit exceeded",
    ),
    "extensions 100,000 deep": (
        b'{"query": "{ viewer { role } }", "extensions": {"a": ' + deep(100_000) + b"}}",
        "depth limit exceeded",
    ),
    "operationName not a string": (
        b'{"query": "{ viewer { role } }", "operationName": ' + deep(1_000) + b"}",
        "`operationName` must be a string",
    ),
    "query not a string": (b'{"query": 42}', "`query` must be a string or null"),
    "variables a list": (
        b'{"query": "{ viewer { role } }", "variables": [1]}',
        "`variables` must be an object or null",
    ),
    "extensions a string": (
        b'{"query": "{ viewer { role } }", "extensions": "x"}',
        "`extensions` must be an object or null",
    ),
}


@pytest.mark.parametrize("name", BAD_BODIES)
async def test_malformed_json_bodies_are_400_json(api, world: World, name: str) -> None:
    body, message = BAD_BODIES[name]
    response = await api.client.post(
        "/graphql",
        content=body,
        headers=bearer(world.token, **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert message in error["message"]
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_a_body_that_is_neither_json_nor_a_form_is_415(
    api, world: World, content_type: str | None
) -> None:
    headers = bearer(world.token)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await api.client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers=headers
    )
    assert response.status_code == 415
    assert error_of(response)["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"query": "{ __typename }", "variables": "{nope"}, "not valid JSON"),
        ({"query": "{ __typename }", "variables": "5"}, "got a number"),
        ({"query": "{ __typename }", "extensions": '"x"'}, "got a string"),
        ({"query": "{ __typename }", "variables": "[1]"}, "must be an object"),
        ({"variables": "{}"}, "No GraphQL query"),
    ],
)
async def test_get_with_bad_parameters_is_400_json(
    api, world: World, params: dict[str, str], message: str
) -> None:
    response = await api.client.get(
        "/graphql", params=params, headers=bearer(world.token, Accept="application/json")
    )
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert message in error["message"]


async def test_routing_refusals_are_json(api, world: World) -> None:
    response = await api.client.put("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert error_of(response)["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}

    response = await api.client.get("/no/such/thing")
    assert response.status_code == 404
    assert error_of(response)["extensions"]["code"] == "NOT_FOUND"

    response = await api.client.delete("/evidence/upload", headers=bearer(world.token))
    assert response.status_code == 405
    assert error_of(response)["extensions"]["code"] == "METHOD_NOT_ALLOWED"


UPLOAD_MUTATION = (
    "mutation($f: Upload!) { importImprovementActions(input: {file: $f}) { applied } }"
)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"operations": "{nope", "map": "{}"}, "not valid JSON"),
        ({"operations": '"x"', "map": "{}"}, "got a string"),
        ({"operations": "{}", "map": "[1]"}, "does not fit"),
        ({"operations": '{"query": "{ __typename }"}', "map": '{"0": 5}'}, "does not fit"),
        (
            {
                "operations": '{"query": "q", "variables": {"f": "x"}}',
                "map": '{"0": ["variables.f.g"]}',
            },
            "does not fit",
        ),
        ({"operations": '{"query": "q"}', "map": '{"1": ["variables.f"]}'}, "missing"),
    ],
)
async def test_multipart_requests_that_do_not_fit_are_400_json(
    api, world: World, parts: dict[str, str], message: str
) -> None:
    files = {name: (None, value) for name, value in parts.items()}
    files["0"] = ("actions.xlsx", b"PK\x03\x04")
    response = await api.client.post(
        "/graphql", files=files, headers=bearer(world.token, **{"X-CMGraph-CSRF": "1"})
    )
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert message in error["message"]


async def test_a_broken_multipart_body_is_400_json(api, world: World) -> None:
    response = await api.client.post(
        "/graphql",
        content=b'--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{}\r\n--b\r\nbroken',
        headers=bearer(
            world.token,
            **{"X-CMGraph-CSRF": "1", "Content-Type": "multipart/form-data; boundary=b"},
        ),
    )
    assert response.status_code == 400, response.text
    assert error_of(response)["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("target", "method", "path"),
    [
        ("cmgraph.http.app.authenticate_request", "POST", "/graphql"),
        ("cmgraph.http.evidence.authenticate_request", "POST", "/evidence/upload"),
    ],
)
async def test_an_unexpected_error_is_a_json_500_logged_once(
    api, monkeypatch, caplog, target: str, method: str, path: str
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(target, broken)
    with caplog.at_level(logging.INFO):
        # The ASGI transport re-raises what escapes the app: nothing may.
        response = await api.client.request(
            method, path, json={"query": QUERY}, headers={"X-Request-ID": "req-500"}
        )
    assert response.status_code == 500
    error = error_of(response)
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-500"}
    assert "req-500" in error["message"] and "secret detail" not in response.text
    assert response.headers["x-request-id"] == "req-500"
    if path == "/graphql":  # every answer of /graphql but a cacheable read
        assert response.headers["cache-control"] == "no-store"
    logged = [r for r in caplog.records if "req-500" in r.getMessage()]
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert logged[0].levelno == logging.ERROR and logged[0].exc_info is not None


async def test_a_body_over_the_limit_is_413_without_an_error_logged(
    db: Database, world: World, settings: Settings, caplog
) -> None:
    """A body without a length is cut off while it streams in: a refusal, not a failure."""
    app = create_app(dataclasses.replace(settings, max_request_bytes=2_000), db.engine)

    async def body() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        for _ in range(10):
            yield b"x" * 1_000
        yield b'"}}'

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.post(
            "/graphql",
            content=body(),
            headers=bearer(world.token, **{"Content-Type": "application/json"}),
        )
    assert response.status_code == 413
    assert error_of(response)["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert response.headers["cache-control"] == "no-store"
    assert surface_errors(caplog) == []


# -- WebSocket messages of the wrong shape --------------------------------------------------


@pytest.fixture
async def server(
    db: Database, world: World, settings: Settings, watch_uvicorn
) -> AsyncIterator[str]:
    async with uvicorn_server(create_app(settings, db.engine)) as base:
        watch_uvicorn()
        yield base


NOT_OBJECTS = ["[1, 2]", '"x"', "1", "null", "true"]
BAD_SHAPES = [
    '{"type": 5}',
    '{"id": 7, "type": "subscribe", "payload": {"query": "subscription { __typename }"}}',
    '{"id": "1", "type": "subscribe", "payload": "subscription { __typename }"}',
    '{"id": "1", "type": "subscribe", "payload": {"query": ["x"]}}',
    '{"id": "1", "type": "subscribe", "payload": {"query": "s", "variables": [1]}}',
    '{"id": ["1"], "type": "complete"}',
]


@pytest.mark.parametrize("message", NOT_OBJECTS + BAD_SHAPES)
@pytest.mark.parametrize("signed_in", [False, True], ids=["before init", "after ack"])
async def test_websocket_messages_of_the_wrong_shape_close_with_4400(
    server: str, world: World, caplog, message: str, signed_in: bool
) -> None:
    if signed_in:
        async with WsClient.signed_in(server, world.token) as client:
            await client.ws.send(message)
            code, _reason = await client.closed()
    else:
        async with WsClient.connect(server, None) as client:
            await client.ws.send(message)
            code, _reason = await client.closed()
    assert code == 4400
    assert surface_errors(caplog) == []


# -- a client that goes away mid-upload -----------------------------------------------------

BOUNDARY = "hostile-boundary"


def _part(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def _file_start(name: str, filename: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'
    ).encode()


def _request_head(path: str, token: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: cmgraph.test\r\nAuthorization: Bearer {token}\r\n"
        f"X-CMGraph-CSRF: 1\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


@pytest.mark.parametrize("path", ["/evidence/upload", "/graphql"])
async def test_a_client_gone_mid_upload_is_one_info_line_and_no_file(
    server: str, world: World, settings: Settings, caplog, path: str
) -> None:
    caplog.set_level(logging.INFO, logger="cmgraph.http")
    before = _files_under(settings.storage_dir)
    if path == "/evidence/upload":
        form = _part("actionId", world.action_id) + _file_start("file", "notes.txt")
    else:
        form = (
            _part("operations", json.dumps({"query": UPLOAD_MUTATION, "variables": {"f": None}}))
            + _part("map", '{"0": ["variables.f"]}')
            + _file_start("0", "actions.xlsx")
        )
    address = urlsplit(server)
    _reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(_request_head(path, world.token, 5_000_000) + form + b"x" * 300_000)
    await writer.drain()
    if path == "/evidence/upload":
        # The file is being streamed to storage: the disconnect happens in the middle of it.
        await wait_until(
            lambda: bool(_files_under(settings.storage_dir / "tmp")), "the upload reaching storage"
        )
    writer.transport.abort()

    def surface_lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name.startswith(SURFACE)]

    await wait_until(lambda: bool(surface_lines()), "the server noticing the disconnect")
    lines = surface_lines()
    assert [r.levelno for r in lines] == [logging.INFO], [r.getMessage() for r in lines]
    assert "disconnected" in lines[0].getMessage()
    assert _files_under(settings.storage_dir) == before


# -- database outage ------------------------------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the database; ``cut`` refuses and drops everything,
    ``hold`` drops everything and then accepts connections but never answers on them."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.holding = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.holding:
            self._writers.add(writer)  # silence until ``close``
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        pipes = [
            asyncio.create_task(self._pipe(reader, upstream_writer)),
            asyncio.create_task(self._pipe(upstream_reader, writer)),
        ]
        self._tasks.update(pipes)
        await asyncio.gather(*pipes, return_exceptions=True)
        for end in (writer, upstream_writer):
            end.transport.abort()
            self._writers.discard(end)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        finally:
            sink.transport.abort()

    async def cut(self) -> None:
        """The database vanishes: new connections are refused, open ones are dropped."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._server = None

    async def hold(self) -> None:
        """The database host stops answering: like a network partition."""
        self.holding = True
        for writer in list(self._writers):
            writer.transport.abort()

    async def restore(self) -> None:
        if self.holding:
            self.holding = False
        else:
            await self.start()

    async def close(self) -> None:
        if self._server is not None:
            await self.cut()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass
class Cuttable:
    """A database the server reaches through something the test can cut and restore."""

    engine: AsyncEngine
    cut: Callable[[], Awaitable[None]]
    restore: Callable[[], Awaitable[None]]


@pytest.fixture
async def cuttable(db: Database, tmp_path: Path) -> AsyncIterator[Cuttable]:
    if POSTGRES_URL:
        url = make_url(db.url)
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        await proxy.start()
        engine = create_engine(
            url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        )
        yield Cuttable(engine, proxy.cut, proxy.restore)
        await proxy.close()
    else:
        # A copy of the test's fresh database in a folder of its own, taken away and put
        # back. No pool: a pooled connection would keep the moved file open.
        folder, away = tmp_path / "database", tmp_path / "database-away"
        folder.mkdir()
        source = Path(make_url(db.url).database or "")
        shutil.copyfile(source, folder / "cmgraph.db")
        engine = create_engine(f"sqlite+aiosqlite:///{folder / 'cmgraph.db'}", poolclass=NullPool)

        async def cut() -> None:
            folder.rename(away)

        async def restore() -> None:
            away.rename(folder)

        yield Cuttable(engine, cut, restore)
    await engine.dispose()


@pytest.fixture
async def outage_server(
    cuttable: Cuttable, settings: Settings, watch_uvicorn
) -> AsyncIterator[tuple[str, World]]:
    world = await make_world(session_factory(cuttable.engine))
    async with uvicorn_server(create_app(settings, cuttable.engine)) as base:
        watch_uvicorn()
        yield base, world


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    error = error_of(response)
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_a_database_outage_is_503_everywhere_and_the_server_recovers(
    outage_server: tuple[str, World], cuttable: Cuttable, caplog
) -> None:
    base, world = outage_server
    auth = bearer(world.token)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post("/graphql", json={"query": QUERY}, headers=auth)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        export = await client.post(
            "/graphql", json={"query": "{ improvementActionsExport { url } }"}, headers=auth
        )
        export_url = urlsplit(export.json()["data"]["improvementActionsExport"]["url"])
        async with UnitOfWork(session_factory(cuttable.engine)) as u:
            newcomer = await accounts.create_user(u, "new@hostile.test", "New", OrgRole.READER)
            unseen = (await accounts.create_token(u, newcomer, "unseen")).secret

        await cuttable.cut()
        requests: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "query": lambda: client.post("/graphql", json={"query": QUERY}, headers=auth),
            "GET query": lambda: client.get("/graphql", params={"query": QUERY}, headers=auth),
            "upload": lambda: client.post(
                "/evidence/upload",
                data={"actionId": world.action_id},
                files={"file": ("notes.txt", b"notes")},
                headers=bearer(world.token, **{"X-CMGraph-CSRF": "1"}),
            ),
            "download": lambda: client.get(
                f"/evidence/{to_base64('Evidence', 1)}/download", headers=auth
            ),
            "export": lambda: client.get(f"{export_url.path}?{export_url.query}"),
        }
        for name, send in requests.items():
            response = await send()
            assert response.status_code == 503, (name, response.status_code, response.text)
            assert_unavailable(response)
        health = await client.get("/healthz")
        assert health.status_code == 503 and health.json()["database"] == "unreachable"
        assert int(health.headers["retry-after"]) > 0

        # A subscriber signing in is told to try again later, which clients retry (one
        # whose token this process has not seen yet: those it has are remembered).
        async with WsClient.connect(base, {"Authorization": f"Bearer {unseen}"}) as ws:
            assert (await ws.closed())[0] == 1013

        await cuttable.restore()

        async def answers() -> bool:
            response = await client.post("/graphql", json={"query": QUERY}, headers=auth)
            if response.status_code == 503:
                return False
            assert response.status_code == 200 and "errors" not in response.json(), response.text
            return True

        await wait_until(answers, "the server answering again after the database came back")
        assert (await client.get("/healthz")).status_code == 200
        async with WsClient.signed_in(base, world.token):
            pass
    assert surface_errors(caplog) == []
    assert any(
        r.levelno == logging.WARNING and "database unavailable" in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.parametrize("open_connection", [False, True], ids=["connecting", "connected"])
async def test_a_database_lost_during_a_query_makes_the_response_a_503(
    outage_server: tuple[str, World], cuttable: Cuttable, caplog, monkeypatch, open_connection: bool
) -> None:
    """Signed in, then the database goes while resolvers read: no half result in a 200.

    Either before the request's session has a connection, or (PostgreSQL: SQLite has no
    connection to drop) while it holds one, which the cut breaks mid-request.
    """
    if open_connection and not POSTGRES_URL:
        pytest.skip("a SQLite connection has no network link to cut")
    base, world = outage_server
    read = Reader.execute
    reads: list[object] = []

    async def cut_then_read(self: Reader, statement: Any, values: Any = None) -> Any:
        if not reads:
            if open_connection:
                await read(self, statement, values)  # the session now holds a connection
            await cuttable.cut()
        reads.append(statement)
        return await read(self, statement, values)

    monkeypatch.setattr(Reader, "execute", cut_then_read)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post("/graphql", json={"query": QUERY}, headers=bearer(world.token))
    assert reads, "the query did not read through the request's reader"
    assert_unavailable(response)
    assert "data" not in response.json()
    await cuttable.restore()
    assert surface_errors(caplog) == []


@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (CMGRAPH_TEST_DATABASE_URL)")
async def test_a_database_that_stops_answering_is_503_not_a_stall(
    db: Database, world: World, settings: Settings
) -> None:
    """Connections that are accepted but never answered time out into a 503."""
    url = make_url(db.url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port)
    engine = create_engine(
        through_proxy.render_as_string(hide_password=False), connect_args={"timeout": 1}
    )
    transport = httpx.ASGITransport(app=create_app(settings, engine))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def query() -> httpx.Response:
                return await client.post(
                    "/graphql", json={"query": QUERY}, headers=bearer(world.token)
                )

            assert (await query()).status_code == 200
            await proxy.hold()
            assert_unavailable(await query())
            await proxy.restore()

            async def answers() -> bool:
                return (await query()).status_code == 200

            await wait_until(answers, "the server answering once the database answers again")
    finally:
        await engine.dispose()
        await proxy.close()


async def test_a_failing_engine_is_503_on_sqlite_too(tmp_path: Path, settings: Settings) -> None:
    """Whatever the test run's backend: a database file that cannot be opened is an outage."""
    missing = tmp_path / "gone" / "cmgraph.db"
    engine = create_engine(f"sqlite+aiosqlite:///{missing}")
    missing.parent.rmdir()  # the engine made the folder; without it, connecting fails
    transport = httpx.ASGITransport(app=create_app(settings, engine))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post(
                "/graphql", json={"query": QUERY}, headers=bearer("cmg_anything")
            )
    finally:
        await engine.dispose()
    assert_unavailable(response)


def test_outage_errors_are_recognised() -> None:
    """The classification behind the 503s, on errors as the drivers raise them."""
    import asyncpg
    from sqlalchemy import exc

    from cmgraph.adapters.db import database_unavailable

    refused = ConnectionRefusedError(111, "Connect call failed")
    wrapped = exc.DBAPIError("SELECT 1", None, Exception("gone"), connection_invalidated=True)
    assert database_unavailable(refused)
    locked = Exception("database is locked")
    assert database_unavailable(exc.OperationalError("SELECT 1", None, locked))
    no_table = Exception("no such table: evidence")  # a bug, not an outage
    assert not database_unavailable(exc.OperationalError("SELECT 1", None, no_table))
    assert database_unavailable(wrapped)
    assert database_unavailable(asyncpg.ConnectionDoesNotExistError("closed"))
    assert database_unavailable(exc.TimeoutError("QueuePool limit reached"))
    try:
        try:
            raise refused
        except ConnectionRefusedError as inner:
            raise RuntimeError("while reading") from inner
    except RuntimeError as outer:
        assert database_unavailable(outer)
    assert not database_unavailable(exc.IntegrityError("INSERT", None, Exception("dup")))
    assert not database_unavailable(RuntimeError("a bug"))
    assert not database_unavailable(FileNotFoundError(2, "no such file"))
