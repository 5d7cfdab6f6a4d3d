"""The ASGI application: GraphQL at /graphql, evidence files, export downloads, /healthz."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.tools import merge_types

from cmgraph.config import Settings
from cmgraph.db import create_engine, session_factory
from cmgraph.evidence_http import (
    FORM_ALLOWANCE,
    UPLOAD_PATH,
    csrf_header_present,
    csrf_refusal,
    evidence_routes,
)
from cmgraph.export_http import export_routes
from cmgraph.http_auth import authenticate_request, bearer_token, error_response
from cmgraph.hub import Hub
from cmgraph.resolvers.alerts import AlertQueries
from cmgraph.resolvers.context import Context, Reader
from cmgraph.resolvers.mail import OutboxQueries
from cmgraph.resolvers.mutations import Mutation
from cmgraph.resolvers.queries import Query
from cmgraph.resolvers.subscriptions import (
    Subscription,
    SubscriptionContext,
    authenticate_connection,
)
from cmgraph.schema.build import build_schema
from cmgraph.storage import Storage

log = logging.getLogger("cmgraph.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Gives every request an id (echoed in ``X-Request-ID``) and caps the request body.

    ``upload_limits`` raises the cap above ``max_body`` for ``multipart/form-data`` requests
    to given paths (file uploads).
    """

    def __init__(
        self, app: ASGIApp, max_body: int, upload_limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.upload_limits = dict(upload_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        supplied = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        max_body = self.max_body
        if is_multipart(headers):
            max_body = self.upload_limits.get(scope["path"], max_body)

        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            await self._too_large(max_body, scope, receive, send)
            return

        received = 0
        too_large = False  # once set, the app's own response is replaced by the 413
        responded = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal responded
            if too_large:
                # Whatever the app answers after a body it could not read in full (an
                # error page from Starlette's error middleware, say), the client gets 413.
                if not responded:
                    responded = True
                    await self._too_large(max_body, scope, receive, send_with_id_unchecked)
                return
            if message["type"] == "http.response.start":
                responded = True
            await send_with_id_unchecked(message)

        async def send_with_id_unchecked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except Exception:
            if not too_large:
                raise
            if not responded:
                responded = True
                await self._too_large(max_body, scope, receive, send_with_id_unchecked)

    async def _too_large(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "PAYLOAD_TOO_LARGE", f"Request body is larger than {limit} bytes."
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def is_multipart(headers: Mapping[bytes, bytes]) -> bool:
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return content_type == b"multipart/form-data"


class GraphQLApp(GraphQL[Context | None, None]):
    """Strawberry's ASGI view with our context; the caller is authenticated beforehand."""

    def __init__(
        self,
        *args: Any,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        hub: Hub,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.sessions = sessions
        self.hub = hub

    async def get_context(self, request: Any, response: Any) -> Any:
        if request.scope["type"] == "websocket":
            return SubscriptionContext(
                sessions=self.sessions,
                settings=self.settings,
                hub=self.hub,
                request_id=uuid.uuid4().hex,
                header_token=bearer_token(request.scope),
            )
        state = request.scope["state"]
        if "principal" not in state:
            return None  # the IDE page: nothing is executed
        return Context(
            principal=state["principal"],
            reader=Reader(state["session"]),
            sessions=self.sessions,
            settings=self.settings,
            request_id=state["request_id"],
        )

    def encode_json(self, data: object) -> str:
        """orjson: a large report encodes many times faster than with the standard library.

        Text rather than bytes, because WebSocket messages go out as what this returns and
        ``graphql-transport-ws`` clients expect text frames.
        """
        return orjson.dumps(data).decode()

    async def on_ws_connect(self, context: Any) -> dict[str, object]:
        return await authenticate_connection(context, self.sessions)


def _wants_ide(scope: Scope) -> bool:
    if scope["method"] != "GET" or scope.get("query_string"):
        return False
    accept = dict(scope.get("headers") or []).get(b"accept", b"")
    return b"text/html" in accept


class GraphQLEndpoint:
    """Serves /graphql: authenticate, open a read session, run the operation, close."""

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], hub: Hub
    ) -> None:
        self.sessions = sessions
        root = merge_types("Query", (Query, OutboxQueries, AlertQueries))
        self.schema = build_schema(root, settings, mutation=Mutation, subscription=Subscription)
        self.graphql = GraphQLApp(
            self.schema,
            settings=settings,
            sessions=sessions,
            hub=hub,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            multipart_uploads_enabled=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _wants_ide(scope):
            await self.graphql(scope, receive, send)
            return
        principal = await authenticate_request(scope, self.sessions)
        if isinstance(principal, Response):
            await principal(scope, receive, send)
            return
        if is_multipart(dict(scope.get("headers") or [])) and not csrf_header_present(scope):
            await csrf_refusal()(scope, receive, send)
            return
        async with self.sessions() as session:
            scope["state"]["principal"] = principal
            scope["state"]["session"] = session
            await self.graphql(scope, receive, send)


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> ASGIApp:
    """The whole server; pass an engine to share one (tests), else it is made from settings."""
    settings = settings or Settings.from_env()
    owns_engine = engine is None
    engine = engine or create_engine(settings.database_url)
    sessions = session_factory(engine)
    hub = Hub(sessions)
    graphql = GraphQLEndpoint(settings, sessions, hub)

    async def healthz(request: Request) -> Response:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database did not answer")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from cmgraph.alerts.runner import running

        swept = await asyncio.to_thread(Storage(settings.storage_dir).sweep_leftovers)
        if swept:
            log.info("removed %d temporary upload files left by an earlier crash", swept)

        async with running(settings, sessions, hub=hub, background=settings.background_work):
            yield
        if owns_engine:
            await engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz, methods=["GET"]),
            *evidence_routes(settings, sessions),
            *export_routes(settings, sessions),
        ],
        lifespan=lifespan,
    )
    upload_limit = settings.max_upload_bytes + FORM_ALLOWANCE
    return RequestContextMiddleware(
        app, settings.max_request_bytes, {UPLOAD_PATH: upload_limit, "/graphql": upload_limit}
    )
