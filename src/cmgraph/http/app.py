"""The ASGI application: GraphQL at /graphql, evidence files, export downloads, /healthz."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter
from cross_web import HTTPException as ViewHTTPException
from graphql import GraphQLError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from cmgraph.adapters.db import create_engine, read_session_factory, session_factory
from cmgraph.config import Settings
from cmgraph.domain.persisted_documents import DocumentStore, TrustedDocuments
from cmgraph.http.auth import (
    authenticate_request,
    bearer_token,
    csrf_header_present,
    csrf_refusal,
    session_secret,
)
from cmgraph.http.errors import (
    RETRY_AFTER_SECONDS,
    error_response,
    failure_response,
    status_code_name,
    unavailable_response,
)
from cmgraph.http.evidence import (
    FORM_ALLOWANCE,
    UPLOAD_PATH,
    evidence_routes,
    storage_upkeep,
)
from cmgraph.http.exports import export_routes
from cmgraph.http.graphql_http import (
    ALLOWED_METHODS,
    GRAPHQL_RESPONSE,
    JSON,
    NOT_CACHEABLE,
    Exchange,
    answer,
    in_media_type,
    lower_media_type,
    wants_ide,
)
from cmgraph.http.oidc import oidc_routes
from cmgraph.http.persisted_queries import DocumentRefused, PersistedDocuments
from cmgraph.http.sign_in import sign_in_routes
from cmgraph.http.web_app import graphql_ide_page, web_app_documents, web_app_routes
from cmgraph.http.websocket import TransportWSHandler, ViewContext, authenticate_connection
from cmgraph.resolvers.context import Context
from cmgraph.resolvers.hub import Hub
from cmgraph.resolvers.reader import Reader
from cmgraph.resolvers.subscriptions import SubscriptionContext
from cmgraph.schema.api import build_api
from cmgraph.schema.build import UNAVAILABLE

log = logging.getLogger("cmgraph.http")

# What browsers may send cross-origin: ours, and the headers GraphQL clients add (Apollo's).
CORS_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-CMGraph-CSRF",
    "X-Request-ID",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Gives every request an id (echoed in ``X-Request-ID``) and caps the request body.

    ``upload_limits`` raises the cap above ``max_body`` for ``multipart/form-data`` requests
    to given paths (file uploads). Answers to ``no_store_paths`` that say nothing about
    caching (the 413 and 500 made here, say) get ``Cache-Control: no-store``.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body: int,
        upload_limits: Mapping[str, int] | None = None,
        no_store_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.upload_limits = dict(upload_limits or {})
        self.no_store_paths = frozenset(no_store_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        supplied = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = supplied if _REQUEST_ID.match(supplied) else secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id
        max_body = self.max_body
        if is_multipart(headers):
            max_body = self.upload_limits.get(scope["path"], max_body)
        no_store = scope["path"] in self.no_store_paths

        async def send_with_id_unchecked(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"x-request-id", request_id.encode())]
                sent = message.get("headers") or []
                if no_store and not any(name.lower() == b"cache-control" for name, _ in sent):
                    extra.append((b"cache-control", NOT_CACHEABLE.encode()))
                message = {**message, "headers": [*sent, *extra]}
            await send(message)

        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            await self._too_large(max_body, scope, receive, send_with_id_unchecked)
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

        try:
            await self.app(scope, limited_receive, send_with_id)
        except Exception as error:
            if too_large:
                if not responded:
                    responded = True
                    await self._too_large(max_body, scope, receive, send_with_id_unchecked)
                return
            if scope["state"].pop(_ANSWERED, False):
                return  # answered and logged by the app's error handler (``_app_failure``)
            # Nobody answered: log it once here. Once a response has started (a download
            # failing half way) there is nothing more to send; returning without finishing
            # it makes the server drop the connection, so the client sees it incomplete.
            response = failure_response(error, request_id)
            if not responded:
                await response(scope, receive, send_with_id_unchecked)

    async def _too_large(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "PAYLOAD_TOO_LARGE", f"Request body is larger than {limit} bytes."
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


# Set in the request's state by ``_app_failure``: the error has been answered and logged.
_ANSWERED = "cmgraph_error_answered"


async def _app_failure(request: Request, error: Exception) -> Response:
    """Starlette's last-resort handler: JSON (500, or 503 in an outage) instead of plain text.

    Starlette re-raises the error after sending this; ``RequestContextMiddleware`` then
    knows from the request state that it was answered and logged.
    """
    state = request.scope.setdefault("state", {})
    state[_ANSWERED] = True
    if isinstance(error, _BodyTooLarge):
        return Response(status_code=413)  # replaced by the JSON 413 on its way out
    return failure_response(error, state.get("request_id", "-"))


async def _http_error(request: Request, error: Exception) -> Response:
    """Starlette's own refusals (no such route, method not allowed, malformed form) as JSON."""
    assert isinstance(error, HTTPException)
    return error_response(
        error.status_code,
        status_code_name(error.status_code),
        error.detail,
        **(error.headers or {}),
    )


def is_multipart(headers: Mapping[bytes, bytes]) -> bool:
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return content_type == b"multipart/form-data"


_JSON_KINDS = {str: "a string", int: "a number", float: "a number", bool: "a boolean"}
_JSON_KINDS[type(None)] = "null"


class _SubResponse(Response):
    """Strawberry's per-request response, carrying what the answer depends on: no status,
    body or header until something sets one (Strawberry's own starts so too)."""

    def __init__(self, exchange: Exchange) -> None:
        self.status_code = None  # type: ignore[assignment]  # as Strawberry's: unset
        self.background = None
        self.body = b""
        self.raw_headers = []
        self.exchange = exchange


def _one_operation(body: dict[str, Any]) -> GraphQLRequestData:
    """A JSON body's operation, its members checked as Strawberry checks them."""
    query, variables, extensions = body.get("query"), body.get("variables"), body.get("extensions")
    if not isinstance(query, str | None):
        raise ViewHTTPException(
            400, "The GraphQL operation's `query` must be a string or null, if provided."
        )
    for name, value in (("variables", variables), ("extensions", extensions)):
        if not isinstance(value, dict | None):
            raise ViewHTTPException(
                400, f"The GraphQL operation's `{name}` must be an object or null, if provided."
            )
    operation_name = body.get("operationName")
    if not isinstance(operation_name, str | None):
        raise ViewHTTPException(400, "`operationName` must be a string or null.")
    return GraphQLRequestData(
        query=query,
        variables=variables,
        operation_name=operation_name,
        extensions=extensions,
        protocol="http",
    )


class GraphQLApp(GraphQL[ViewContext, None]):
    """Strawberry's ASGI view with our context; the caller is authenticated beforehand.

    Answers as GraphQL over HTTP says (``http.graphql_http``) and fills in documents named
    by hash (``http.persisted_queries``).
    """

    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self,
        *args: Any,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        hub: Hub,
        documents: PersistedDocuments,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.sessions = sessions
        self.hub = hub
        self.documents = documents

    async def get_context(self, request: Any, response: Any) -> Any:
        if request.scope["type"] == "websocket":
            return SubscriptionContext(
                sessions=self.sessions,
                settings=self.settings,
                hub=self.hub,
                request_id=secrets.token_hex(16),
                header_token=bearer_token(request.scope),
                session_secret=session_secret(request.scope),
            )
        state = request.scope["state"]
        if "principal" not in state:
            return None  # the IDE page: nothing is executed
        return Context(
            principal=state["principal"],
            reader=state["reader"],
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's ``__call__``, with its refusals sent as JSON rather than plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive))
        except ViewHTTPException as refusal:
            # The only 405 left by now: a mutation over GET (other methods are refused
            # before this view runs).
            allow = {"Allow": "POST"} if refusal.status_code == 405 else {}
            response = error_response(
                refusal.status_code, status_code_name(refusal.status_code), refusal.reason, **allow
            )
        except DocumentRefused as refusal:
            status = refusal.status
            if (
                refusal.json_status is not None
                and exchange_of(scope).media_type != GRAPHQL_RESPONSE
            ):
                status = refusal.json_status
            response = error_response(status, refusal.code, refusal.message)
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphql_ide_page(self.settings.web_dir)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """Only for a browser opening /graphql itself: the test ``GraphQLEndpoint`` makes."""
        if request.method != "GET":  # the usual case, told before reading any header
            return False
        headers = request.headers
        accept = (
            headers.getlist("accept")
            if isinstance(headers, Headers)
            else [headers.get("accept", "")]
        )
        return wants_ide(request.method, str(request.query_params), accept)

    async def get_sub_response(self, request: Any) -> Response:
        return _SubResponse(exchange_of(request.scope))

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: ViewContext,
        root_value: None,
        sub_response: Response,
    ) -> Any:
        """Fill in a document named by hash (or refuse it), run, and register a new one.

        The one place every HTTP operation passes, streamed or not. A document sent with
        its hash is registered only once it has parsed and validated, so the table holds
        only documents within the query limits.
        """
        # Fail closed: what cannot be checked does not run. Neither happens (the endpoint
        # signs every request in, and batches are refused when parsed), so a 500.
        if not isinstance(context, Context):
            raise RuntimeError("a GraphQL request reached execution without a signed-in caller")
        if not isinstance(request_data, GraphQLRequestData):
            raise RuntimeError("a batch of GraphQL requests reached execution")
        resolved = await self.documents.resolve(
            request_data, await self._document_id(request, request_data), context.principal
        )
        # Only a POST registers: a GET is a navigation any page can make a browser do.
        request_data, register = resolved.data, resolved.register and request.method == "POST"
        result = await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )
        if (
            register
            and request_data.query is not None
            and isinstance(result, ExecutionResult)
            and (result.data is not None or any(e.path for e in result.errors or ()))
        ):
            await self._register(request_data.query)
        return result

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: ViewContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's, with an operation that cannot be chosen (an unknown
        ``operationName``) a request error like the others, and a mutation over GET 405."""
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except ViewHTTPException as refusal:
            cause = refusal.__cause__
            if isinstance(cause, CannotGetOperationTypeError):
                error = GraphQLError(
                    cause.as_http_error_reason(), extensions={"code": "BAD_REQUEST"}
                )
                return ExecutionResult(data=None, errors=[error])
            if (
                isinstance(cause, InvalidOperationTypeError)
                and cause.operation_type is OperationType.MUTATION
                and request_adapter.method == "GET"
            ):
                raise ViewHTTPException(405, "Mutations are sent with POST.") from None
            raise

    async def _document_id(self, request: Request, data: GraphQLRequestData) -> object:
        """The request's ``documentId``, if it sent no document (so its body is small)."""
        if data.query is not None:
            return None
        if request.method == "GET":
            return request.query_params.get("documentId")
        media_type = parse_content_type(request.headers.get("content-type", ""))[0]
        if media_type.lower() != "application/json":
            return None
        body = self.decode_json(await request.body())  # read before: Starlette keeps it
        return body.get("documentId") if isinstance(body, dict) else None

    async def _register(self, document: str) -> None:
        """Keep a document for its hash; the answer does not depend on it, so a failure is
        logged, and the client will simply be asked for the document again."""
        try:
            await self.documents.store.register(document)
        except Exception as error:
            log.warning("persisted query not registered: %r", error)

    def decode_json(self, data: str | bytes) -> object:
        """orjson, which also refuses invalid UTF-8 and nesting deeper than 1024 (cheaply)."""
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        """A JSON document of the request: the body, multipart ``operations`` and ``map``,
        or the ``variables`` and ``extensions`` query parameters of a GET.

        Each must be an object (a list is a batch, which Strawberry refuses itself); any
        other value, or text that is not JSON, is a 400 that says what is wrong.
        """
        try:
            value = self.decode_json(data)
        except orjson.JSONDecodeError as error:
            raise ViewHTTPException(400, f"The request is not valid JSON: {error}.") from None
        if not isinstance(value, dict | list):
            kind = _JSON_KINDS.get(type(value), "a scalar")
            raise ViewHTTPException(
                400,
                f'Expected a JSON object such as {{"query": "...", "variables": {{...}}}}, '
                f"got {kind}.",
            )
        return value

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> Any:
        """Strawberry's parsing, with a 415 for a POST body that is neither JSON nor a form,
        and the ``operationName`` checked too (Strawberry checks the other members).

        The usual request, one operation POSTed as plain ``application/json`` for a JSON
        answer, is read here: Strawberry parses every Content-Type through the standard
        library's e-mail parser first."""
        content_type = request.content_type or ""
        if request.method == "POST" and content_type != JSON:
            media_type = parse_content_type(content_type)[0].lower()
            if media_type not in (JSON, "multipart/form-data"):
                raise ViewHTTPException(
                    415,
                    "Send the request as application/json (or multipart/form-data for uploads).",
                )
        elif request.method == "POST" and not self._get_stream_transport_from_headers(
            request.headers
        ):
            body = self.parse_json(await request.get_body())
            if isinstance(body, dict):  # (a list is a batch: Strawberry refuses it)
                return _one_operation(body)
        data = await super().parse_http_body(request)
        if not isinstance(getattr(data, "operation_name", None), str | None):
            raise ViewHTTPException(400, "`operationName` must be a string or null.")
        return data

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        """A multipart request whose ``map`` does not fit its ``operations`` is a 400."""
        try:
            return await super().parse_multipart(request)
        except (LookupError, TypeError, ValueError, AttributeError) as error:
            # Only Strawberry's placing of the files can raise these here: the JSON parts
            # were checked by ``parse_json`` and the form by Starlette.
            raise ViewHTTPException(
                400, f"The multipart `map` does not fit `operations` ({error!r})."
            ) from None

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """The answer GraphQL over HTTP asks for (``graphql_http.answer``), except that a
        result that failed because the database is unreachable is a 503 as a whole.

        Its data would be partial for a reason that has nothing to do with the request, so
        the client gets the same answer as any other request during the outage: retry.
        """
        # Batches are refused when parsed; the sub-response is ours (``get_sub_response``).
        assert isinstance(response_data, dict) and isinstance(sub_response, _SubResponse)
        errors: list[Any] = response_data.get("errors") or []  # formatted errors: dicts
        for error in errors:
            extensions = error.get("extensions") or {}
            if extensions.get("code") == UNAVAILABLE:
                return unavailable_response(str(extensions.get("requestId", "-")))
        response = answer(response_data, sub_response.exchange)
        response.raw_headers.extend(sub_response.raw_headers)
        return response


def exchange_of(scope: Scope) -> Exchange:
    """What the answer depends on, read from the request once and kept in its state."""
    state = scope.setdefault("state", {})
    exchange = state.get("exchange")
    if not isinstance(exchange, Exchange):
        exchange = state["exchange"] = Exchange.of(scope)
    return exchange


def _lower_content_type(scope: Scope) -> None:
    """``Content-Type``'s type and subtype in lower case, so that Strawberry (which
    compares them as sent) takes ``Application/JSON`` as what it is."""
    scope["headers"] = [
        (name, lower_media_type(value) if name.lower() == b"content-type" else value)
        for name, value in scope.get("headers") or []
    ]


class GraphQLEndpoint:
    """Serves /graphql: authenticate, open a read session, run the operation, close."""

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], hub: Hub
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.reading = read_session_factory(sessions.kw["bind"])
        self.schema = build_api(settings)
        trusted = settings.trusted_documents
        self.graphql = GraphQLApp(
            self.schema,
            settings=settings,
            sessions=sessions,
            hub=hub,
            documents=PersistedDocuments(
                DocumentStore(sessions),
                TrustedDocuments.load(Path(trusted)) if trusted else None,
                web_app_documents(settings.web_dir),
            ),
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            allowed_origins=settings.allowed_origins,
            multipart_uploads_enabled=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope["method"] == "GET"  # before reading headers: most requests are POSTs
            and wants_ide(
                "GET", scope.get("query_string", b""), Headers(scope=scope).getlist("accept")
            )
        ):
            await self.graphql(scope, receive, send)
            return
        send = in_media_type(exchange_of(scope).media_type, send)
        if scope["method"] not in ("GET", "POST"):  # HEAD too: one answer for every other method
            refusal = error_response(
                405,
                "METHOD_NOT_ALLOWED",
                f"/graphql answers {' and '.join(ALLOWED_METHODS.split(', '))} only.",
                Allow=ALLOWED_METHODS,
            )
            await refusal(scope, receive, send)
            return
        _lower_content_type(scope)
        changes = scope["method"] == "POST"
        principal = await authenticate_request(scope, self.sessions, self.settings, changes=changes)
        if isinstance(principal, Response):
            await principal(scope, receive, send)
            return
        if is_multipart(dict(scope.get("headers") or [])) and not csrf_header_present(scope):
            await csrf_refusal()(scope, receive, send)
            return
        reader = Reader(sessions=self.reading)
        scope["state"]["principal"] = principal
        scope["state"]["reader"] = reader
        try:
            await self.graphql(scope, receive, send)
        finally:
            await reader.close()


class _CORS(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in the API's JSON error body."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        return error_response(400, "BAD_REQUEST", bytes(response.body).decode())


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> ASGIApp:
    """The whole server; pass an engine to share one (tests), else it is made from settings."""
    settings = settings or Settings.from_env()
    owns_engine = engine is None
    engine = engine or create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_factory(engine)
    hub = Hub(sessions)
    graphql = GraphQLEndpoint(settings, sessions, hub)

    async def healthz(request: Request) -> Response:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("health check: database did not answer: %r", error)
            return JSONResponse(
                {"status": "error", "database": "unreachable"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from cmgraph.alerts.runner import running

        async with (
            storage_upkeep(settings, sessions),  # sweeps leftovers now and every hour
            running(settings, sessions, hub=hub, background=settings.background_work),
        ):
            yield
        if owns_engine:
            await engine.dispose()

    app = Starlette(
        exception_handlers={HTTPException: _http_error, Exception: _app_failure},
        routes=[
            Route("/graphql", graphql),  # every method: it answers the others itself
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz, methods=["GET"]),
            *evidence_routes(settings, sessions),
            *export_routes(settings, sessions),
            *sign_in_routes(settings, sessions),
            *oidc_routes(settings, sessions),
            *web_app_routes(settings.web_dir),  # last: it falls back
        ],
        lifespan=lifespan,
    )
    upload_limit = settings.max_upload_bytes + FORM_ALLOWANCE
    served: ASGIApp = RequestContextMiddleware(
        app,
        settings.max_request_bytes,
        {UPLOAD_PATH: upload_limit, "/graphql": upload_limit},
        no_store_paths={"/graphql"},
    )
    if not settings.allowed_origins:
        return served
    # Outermost, so that refusals (413, 401 ...) carry the headers a page needs to read them.
    return _CORS(
        served,
        allow_origins=settings.allowed_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST"],
        allow_headers=CORS_HEADERS,
        expose_headers=["X-Request-ID", "Retry-After"],
        max_age=600,
    )
