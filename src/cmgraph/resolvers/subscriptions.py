"""The context of a WebSocket connection, and the hub messages each subscription receives.

A connection authenticates once, in ``connection_init``; each subscription then registers
with the process's ``Hub``, and the schema turns its messages into GraphQL results. The
value of a message (built from what the hub read once for everybody) is shared by its
subscribers; nested fields are resolved per subscriber, as a small read of its own
("delivery"): fresh DataLoaders with the subscriber's permissions and a database session,
both made only if the selection needs them and closed as soon as the result has been sent.
Which delivery is current is kept in a context variable: each subscription runs in its own
task, so several subscriptions on one connection never share loaders.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable

from cmgraph.config import Settings
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.hub import (
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
from cmgraph.resolvers.loaders import Loaders
from cmgraph.resolvers.queries import ids_of
from cmgraph.resolvers.reader import Values


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

    async def execute(self, statement: Executable, values: Values = None) -> Any:
        async with self.lock:
            return await self.session.execute(statement, values)

    async def scalar(self, statement: Executable) -> Any:
        async with self.lock:
            return await self.session.scalar(statement)

    async def columns(self, statement: Executable, values: Values = None) -> Any:
        """As ``Reader.columns``."""
        async with self.lock:
            return await (await self.session.connection()).execute(statement, values)

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
        session_secret: str | None = None,
    ) -> None:
        self.principal: Principal | None = None
        self.connection_params: dict[str, Any] = {}
        self.settings = settings
        self.hub = hub
        self.request_id = request_id
        # What the upgrade request carried (its Origin was checked: Strawberry refuses
        # other origins' upgrades with 403).
        self.header_token = header_token
        self.session_secret = session_secret
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


async def action_changes(info: strawberry.Info, filter: Any) -> AsyncGenerator[ActionChanged, None]:
    """Changes of the actions ``filter`` names (all the subscriber may read by default)."""
    topic = ActionTopic(
        assessment_ids=_id_set(filter.assessment_ids, "Assessment"),
        action_ids=_id_set(filter.action_ids, "ImprovementAction"),
    )
    stream: AsyncIterator[Message]
    async with aclosing(_messages(info, topic)) as stream:
        async for message in stream:
            assert isinstance(message, ActionChanged)
            yield message


async def score_changes(
    info: strawberry.Info, assessment_id: str | None
) -> AsyncGenerator[ScoreChanged, None]:
    """Score changes of one assessment, or of the overall score without ``assessment_id``."""
    ids = ids_of([assessment_id] if assessment_id is not None else None, "Assessment")
    topic = ScoreTopic(ids[0] if ids else None)
    stream: AsyncIterator[Message]
    async with aclosing(_messages(info, topic)) as stream:
        async for message in stream:
            assert isinstance(message, ScoreChanged)
            yield message


async def alert_changes(info: strawberry.Info, filter: Any) -> AsyncGenerator[AlertChanged, None]:
    """Changes of the alerts ``filter`` names that the subscriber may read."""
    topic = AlertTopic(
        severities=frozenset(filter.severities) if filter.severities else None,
        statuses=frozenset(filter.statuses) if filter.statuses else None,
    )
    stream: AsyncIterator[Message]
    async with aclosing(_messages(info, topic)) as stream:
        async for message in stream:
            assert isinstance(message, AlertChanged)
            # Scoped readers: the same rule as the alerts list, through their loader.
            scoped = not info.context.principal.sees_everything
            if scoped and await info.context.loaders.alert.load(message.alert.id) is None:
                continue
            yield message
