"""The WebSocket side of /graphql: graphql-transport-ws messages checked and signed in.

Strawberry runs the protocol; this module refuses what is not a protocol message, turns
failures into close codes, and signs a connection in from its ``connection_init``.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any, TypeAlias, cast

from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage

from cmgraph import global_ids
from cmgraph.adapters import signals
from cmgraph.adapters.db import database_unavailable
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.context import Context
from cmgraph.resolvers.subscriptions import SubscriptionContext


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


log = logging.getLogger("cmgraph.websocket")

# graphql-transport-ws's close code for a server error, and RFC 6455's "Try Again Later",
# which clients such as graphql-ws retry (unlike 4500 or 1011).
CLOSE_INTERNAL_ERROR = 4500
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_FORBIDDEN = 4403  # graphql-transport-ws: the connection is not (or no longer) allowed
# How often an open connection's credentials are checked again even when no change was
# signalled (a session past its lifetime, a lost NOTIFY).
RECHECK_SECONDS = 60.0


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

    _credentials_watch: asyncio.Task[None] | None = None

    async def handle_message(self, message: Any) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        try:
            if message["type"] == "subscribe" and not await self._still_signed_in():
                return
            await super().handle_message(message)
        except WebSocketDisconnected:
            raise
        except Exception as error:
            await self._close_after(error)

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._credentials_watch is None:
            self._credentials_watch = asyncio.create_task(
                self._watch_credentials(), name="cmgraph-ws-credentials"
            )

    async def shutdown(self) -> None:
        watch, self._credentials_watch = self._credentials_watch, None
        if watch is not None:
            watch.cancel()
            with suppress(asyncio.CancelledError):
                await watch
        await super().shutdown()

    async def _watch_credentials(self) -> None:
        """Check the credentials again whenever a person is disabled, a token revoked or
        sessions ended (anywhere: ``signals.credentials_changed``), and at least every
        ``RECHECK_SECONDS``: subscriptions already running end with the socket (4403)."""
        changed = signals.credentials_changed
        seen = changed.generation
        while True:
            seen = await changed.wait(seen, RECHECK_SECONDS)
            try:
                if not await self._still_signed_in(activity=False):
                    return
            except Exception as error:  # the database, for a moment: check at the next one
                log.warning("websocket: checking credentials failed: %r", error)

    async def _still_signed_in(self, *, activity: bool = True) -> bool:
        """Check the connection's credentials again (before each new operation, and when
        they may have changed), so that a revoked token, an ended session or a disabled
        account stops its subscriptions at once; a refusal closes the socket with 4403, as
        at ``connection_init``. Only ``activity`` (a new operation) keeps a session from
        its idle timeout: an open socket alone does not."""
        from cmgraph.domain.accounts import AuthenticationError

        context = self.context
        if not isinstance(context, SubscriptionContext) or context.principal is None:
            return True  # not signed in yet: Strawberry refuses the operation itself
        sessions = cast(Any, self.view).sessions
        try:
            context.principal = await connection_principal(context, sessions, activity=activity)
        except AuthenticationError as exc:
            with suppress(RuntimeError, WebSocketDisconnected):
                await self.websocket.close(CLOSE_FORBIDDEN, f"Forbidden: {exc}"[:120])
            return False
        return True

    async def handle_subscribe(self, message: Any) -> None:
        """With trusted documents, anyone but an owner subscribes with those only.

        Fails closed: on an acknowledged connection, a subscription that cannot be checked
        (no documents on the view, no caller on the context) is refused, not run.
        """
        if self.connection_acknowledged and message["id"] not in self.operations:
            documents = getattr(self.view, "documents", None)
            principal = getattr(self.context, "principal", None)
            if documents is None or principal is None:
                log.error("websocket: a subscribe could not be checked against the documents")
                refused: tuple[str, str] | None = (
                    "This operation cannot be checked, so it does not run.",
                    "INTERNAL_SERVER_ERROR",
                )
            else:
                refusal = documents.refusal(message["payload"]["query"], principal)
                refused = None if refusal is None else (refusal.message, refusal.code)
            if refused is not None:
                error = GraphQLError(refused[0], extensions={"code": refused[1]})
                await self.send_message(
                    ErrorMessage(id=message["id"], type="error", payload=[error.formatted])
                )
                return
        await super().handle_subscribe(message)

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
    4403 Forbidden (the protocol's code for a refused ``connection_init``). The credentials
    are checked again before each later ``subscribe`` and whenever credentials change
    anywhere (``TransportWSHandler``): a revoked token, an ended session or a disabled
    account closes the socket with its subscriptions, and changed grants apply to the
    subscriptions opened from then on.
    """
    from strawberry.exceptions import ConnectionRejectionError

    from cmgraph.domain.accounts import AuthenticationError

    try:
        context.principal = await connection_principal(context, sessions)
    except AuthenticationError as exc:
        raise ConnectionRejectionError({"message": str(exc)}) from None
    return {"userId": global_ids.encode("User", context.principal.user_id)}


async def connection_principal(
    context: SubscriptionContext,
    sessions: async_sessionmaker[AsyncSession],
    *,
    activity: bool = True,
) -> Principal:
    """The caller that the connection's token or session cookie names, or
    ``AuthenticationError``."""
    from cmgraph.domain.accounts import AuthenticationError, sign_in
    from cmgraph.domain.sign_in import SessionPolicy, session_principal

    token = connection_token(context.connection_params or {}, context.header_token)
    secret = context.session_secret if token is None else None
    if token is not None:
        return await sign_in(sessions, token)
    if secret is None:
        raise AuthenticationError("Sign in, or send an API token in connection_init.")
    return await session_principal(
        sessions, SessionPolicy.of(context.settings), secret, activity=activity
    )
