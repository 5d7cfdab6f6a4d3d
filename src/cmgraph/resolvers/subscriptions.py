"""The root ``Subscription`` type and the context of a WebSocket connection.

A connection authenticates once, in ``connection_init``; each subscription then registers
with the process's ``Hub`` and turns its messages into GraphQL results. The value of a
message (built from what the hub read once for everybody) is shared by its subscribers;
nested fields are resolved per subscriber, as a small read of its own ("delivery"): fresh
DataLoaders with the subscriber's permissions and a database session, both made only if the
selection needs them and closed as soon as the result has been sent. Which delivery is
current is kept in a context variable: each subscription runs in its own task, so several
subscriptions on one connection never share loaders.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing, suppress
from typing import Any, TypeAlias

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from cmgraph.adapters.db import database_unavailable
from cmgraph.config import Settings
from cmgraph.domain.permissions import Principal
from cmgraph.hub import (
    ActionChanged,
    ActionTopic,
    AlertChanged,
    AlertTopic,
    Hub,
    Message,
    NotReadable,
    ScoreChanged,
    ScoreTopic,
    SubscriberClosed,
    Topic,
)
from cmgraph.resolvers.context import Context
from cmgraph.resolvers.loaders import ActionRecord, Loaders
from cmgraph.resolvers.queries import ids_of
from cmgraph.schema.alerts import Alert
from cmgraph.schema.subscriptions import (
    AlertChangeFilter,
    ImprovementActionChangeFilter,
    ScoreChange,
)
from cmgraph.schema.types import Assessment, ImprovementAction, Score


class LazyReader:
    """The ``Reader`` interface, opening its session on the first statement (if any)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self.lock = asyncio.Lock()

    @property
    def session(self) -> AsyncSession:
        """The session (created, not yet connected, on first use)."""
        if self._session is None:
            self._session = self._sessions()
        return self._session

    async def execute(self, statement: Executable) -> Any:
        async with self.lock:
            return await self.session.execute(statement)

    async def scalar(self, statement: Executable) -> Any:
        async with self.lock:
            return await self.session.scalar(statement)

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


class Delivery:
    """What resolving one subscription message reads with, made only if a field needs it.

    Most selections are answered from what the hub already read; then no loader, and no
    database session, is ever created for the message.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], principal: Principal) -> None:
        self._sessions = sessions
        self._principal = principal
        self._reader: LazyReader | None = None
        self._loaders: Loaders | None = None

    @property
    def reader(self) -> LazyReader:
        if self._reader is None:
            self._reader = LazyReader(self._sessions)
        return self._reader

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.reader, self._principal)
        return self._loaders

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()


_delivery: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar(
    "cmgraph_delivery", default=None
)

ONLY_SUBSCRIPTIONS = (
    "Only subscriptions are served over WebSocket; send queries and mutations to POST /graphql."
)


class SubscriptionContext:
    """Context of one WebSocket connection; ``principal`` is set by ``connection_init``."""

    over_websocket = True  # subscriptions are refused elsewhere (schema/build.py)

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        hub: Hub,
        request_id: str,
        header_token: str | None = None,
    ) -> None:
        self.principal: Principal | None = None
        self.connection_params: dict[str, Any] = {}
        self.settings = settings
        self.hub = hub
        self.request_id = request_id
        self.header_token = header_token
        self._sessions = sessions

    def delivery(self) -> Delivery:
        assert self.principal is not None
        delivery = Delivery(self._sessions, self.principal)
        _delivery.set(delivery)
        return delivery

    @staticmethod
    def _current() -> Delivery:
        delivery = _delivery.get()
        if delivery is None:
            raise GraphQLError(ONLY_SUBSCRIPTIONS, extensions={"code": "BAD_REQUEST"})
        return delivery

    @property
    def loaders(self) -> Any:
        return self._current().loaders

    @property
    def reader(self) -> Any:
        return self._current().reader

    @property
    def sessions(self) -> Any:
        raise GraphQLError(ONLY_SUBSCRIPTIONS, extensions={"code": "BAD_REQUEST"})

    async def after_write(self) -> None:
        raise GraphQLError(ONLY_SUBSCRIPTIONS, extensions={"code": "BAD_REQUEST"})


async def _messages(info: strawberry.Info, topic: Topic) -> AsyncGenerator[Message, None]:
    """The subscriber's messages, each with a fresh delivery closed once it was resolved."""
    context = info.context
    if not isinstance(context, SubscriptionContext) or context.principal is None:
        raise GraphQLError(
            "Subscriptions are served over WebSocket (graphql-transport-ws) on /graphql.",
            extensions={"code": "BAD_REQUEST"},
        )
    try:
        subscriber = await context.hub.subscribe(context.principal, topic)
    except NotReadable:
        raise GraphQLError(
            "No assessment with that id that you can read.", extensions={"code": "NOT_FOUND"}
        ) from None
    try:
        while True:
            try:
                message = await subscriber.get()
            except SubscriberClosed as closed:
                raise GraphQLError(closed.reason, extensions={"code": closed.code}) from None
            delivery = context.delivery()
            try:
                yield message
            finally:
                await delivery.close()
    finally:
        context.hub.unsubscribe(subscriber)


def _id_set(values: Iterable[str] | None, type_name: str) -> frozenset[int] | None:
    ids = ids_of(values, type_name)
    return frozenset(ids) if ids else None


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="An improvement action after committed changes to it (status, "
        "testing, assignment, evidence, score, pending update), as you may read it now. "
        "Each message is the state right after the commits it reports, in commit order: "
        "changes committed together, or so quickly that the server reads them together, "
        "arrive as one message with the latest state, so a `version` may be skipped. A "
        "subscription never receives the same state twice nor a lower `version` after a "
        "higher one; a message may repeat `version` when only evidence or `pendingUpdate` "
        "changed, which do not change it."
    )
    async def improvement_action_changed(
        self, info: strawberry.Info, filter: ImprovementActionChangeFilter | None = None
    ) -> AsyncGenerator[ImprovementAction, None]:
        f = filter or ImprovementActionChangeFilter()
        topic = ActionTopic(
            assessment_ids=_id_set(f.assessment_ids, "Assessment"),
            action_ids=_id_set(f.action_ids, "ImprovementAction"),
        )
        stream: AsyncIterator[Message]
        async with aclosing(_messages(info, topic)) as stream:
            async for message in stream:
                assert isinstance(message, ActionChanged)
                value = message.memo.get("value")
                if value is None:
                    value = message.memo["value"] = ImprovementAction.from_record(
                        ActionRecord(*message.row)
                    )
                yield value

    @strawberry.subscription(
        description="Score changes of one assessment, or with no assessmentId of the overall "
        "score over the active assessments you can read."
    )
    async def score_changed(
        self, info: strawberry.Info, assessment_id: strawberry.ID | None = None
    ) -> AsyncGenerator[ScoreChange, None]:
        ids = ids_of([assessment_id] if assessment_id is not None else None, "Assessment")
        topic = ScoreTopic(ids[0] if ids else None)
        stream: AsyncIterator[Message]
        async with aclosing(_messages(info, topic)) as stream:
            async for message in stream:
                assert isinstance(message, ScoreChanged)
                value = message.memo.get("value")
                if value is None:
                    row = message.assessment
                    value = message.memo["value"] = ScoreChange(
                        assessment=Assessment.from_row(row) if row is not None else None,
                        score=Score.of(message.score),
                        delta=message.delta,
                    )
                yield value

    @strawberry.subscription(
        description="An alert when it opens, when further events join it, and when its status "
        "or assignee changes. Alerts are shown to users who may read at least one of their "
        "events' assessments, with only those events."
    )
    async def alert_changed(
        self, info: strawberry.Info, filter: AlertChangeFilter | None = None
    ) -> AsyncGenerator[Alert, None]:
        from cmgraph.resolvers import alerts as alert_reads

        f = filter or AlertChangeFilter()
        topic = AlertTopic(
            severities=frozenset(f.severities) if f.severities else None,
            statuses=frozenset(f.statuses) if f.statuses else None,
        )
        stream: AsyncIterator[Message]
        async with aclosing(_messages(info, topic)) as stream:
            async for message in stream:
                assert isinstance(message, AlertChanged)
                # Scoped readers: the same rule as the alerts list, through their loader.
                scoped = not info.context.principal.sees_everything
                if scoped and await alert_reads.alert(info).load(message.alert.id) is None:
                    continue
                value = message.memo.get("value")
                if value is None:
                    value = message.memo["value"] = Alert.from_row(message.alert)
                yield value


def connection_token(params: dict[str, Any], header_token: str | None) -> str | None:
    """The API token of ``connection_init``: ``{"Authorization": "Bearer <token>"}`` (any
    case), or ``{"token": "<token>"}``; else the upgrade request's Authorization header."""
    for key, value in params.items():
        if not isinstance(value, str):
            continue
        if key.lower() == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif key == "token" and value.strip():
            return value.strip()
    return header_token


log = logging.getLogger("cmgraph.subscriptions")

# graphql-transport-ws's close code for a server error, and RFC 6455's "Try Again Later",
# which clients such as graphql-ws retry (unlike 4500 or 1011).
CLOSE_INTERNAL_ERROR = 4500
CLOSE_TRY_AGAIN_LATER = 1013


def message_problem(message: object) -> str | None:
    """What makes ``message`` unusable as a graphql-transport-ws message, if anything."""
    if not isinstance(message, dict):
        return "Each message must be a JSON object with a `type`."
    kind = message.get("type")
    if not isinstance(kind, str):
        return "Each message needs a string `type`."
    if kind in ("subscribe", "complete") and not isinstance(message.get("id"), str):
        return f"A `{kind}` message needs a string `id`."
    if kind != "subscribe":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "A `subscribe` message needs a `payload` object with a string `query`."
    for key, kinds in (("variables", dict), ("extensions", dict), ("operationName", str)):
        if payload.get(key) is not None and not isinstance(payload[key], kinds):
            return f"`payload.{key}` has the wrong type."
    return None


# The GraphQL view's context: a ``Context`` over HTTP (None for the IDE page), a
# ``SubscriptionContext`` over WebSocket. Strawberry types the view and its WebSocket
# handler with one context type.
ViewContext: TypeAlias = Context | SubscriptionContext | None


class TransportWSHandler(BaseGraphQLTransportWSHandler[ViewContext, None]):
    """graphql-transport-ws, where every message and failure ends in a close code.

    Strawberry assumes a message is an object of the right shape; ``[1]``, ``"x"`` or a
    numeric ``id`` raised ``TypeError`` and dropped the socket with no code. Those now close
    it with 4400 (invalid message). A ``connection_init`` that cannot be checked because the
    database is unreachable closes with 1013 (try again later); any other failure of a
    message closes with 4500 and is logged with the connection's request id.
    """

    async def handle_message(self, message: Any) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        try:
            await super().handle_message(message)
        except WebSocketDisconnected:
            raise
        except Exception as error:
            await self._close_after(error)

    async def _close_after(self, error: Exception) -> None:
        request_id = getattr(self.context, "request_id", "-")
        if database_unavailable(error):
            log.warning("websocket %s: database unavailable: %r", request_id, error)
            code, reason = CLOSE_TRY_AGAIN_LATER, "Try again later: the database is unavailable"
        else:
            log.error("websocket %s: message failed", request_id, exc_info=error)
            code, reason = CLOSE_INTERNAL_ERROR, f"Internal server error (request id {request_id})"
        with suppress(RuntimeError, WebSocketDisconnected):  # the socket may be gone already
            await self.websocket.close(code, reason)


async def authenticate_connection(
    context: SubscriptionContext, sessions: async_sessionmaker[AsyncSession]
) -> dict[str, object]:
    """Sign the connection in from its ``connection_init`` payload, or reject it.

    Rejection raises strawberry's ``ConnectionRejectionError``, which closes the socket with
    4403 Forbidden (the protocol's code for a refused ``connection_init``). The principal is
    fixed for the connection's life: changed grants or a revoked token take effect when the
    client reconnects.
    """
    from strawberry.exceptions import ConnectionRejectionError

    from cmgraph.domain.accounts import AuthenticationError, sign_in

    token = connection_token(context.connection_params or {}, context.header_token)
    if token is None:
        raise ConnectionRejectionError({"message": "Send an API token in connection_init."})
    try:
        context.principal = await sign_in(sessions, token)
    except AuthenticationError as exc:
        raise ConnectionRejectionError({"message": str(exc)}) from None
    return {"userId": strawberry.relay.to_base64("User", context.principal.user_id)}
