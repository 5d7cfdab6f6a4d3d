"""A real server on 127.0.0.1 and a graphql-transport-ws client, for subscription tests.

The client speaks the protocol by hand over the ``websockets`` package, so the tests see
exactly what goes over the wire (message types, close codes and reasons).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from cmgraph.resolvers.hub import Hub

PROTOCOL = Subprotocol("graphql-transport-ws")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(
    condition: Callable[[], bool] | Callable[[], Awaitable[bool]], what: str, within: float = 30.0
) -> None:
    """Poll ``condition`` until it holds; fail saying ``what`` did not happen (a hang guard)."""
    deadline = time.monotonic() + within
    while True:
        outcome = condition()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        assert time.monotonic() < deadline, f"{what} did not happen within {within} s"
        await asyncio.sleep(0.01)


def hub_of(app: Any) -> Hub:
    """The subscription hub of an app made by ``create_app``.

    The app does not expose it, so this walks the middleware (``.app``) down to the router
    and takes the hub of the GraphQL endpoint's view.
    """
    inner = app
    while not hasattr(inner, "routes"):
        inner = inner.app
    for route in inner.routes:
        view = getattr(getattr(route, "endpoint", None), "graphql", None)
        hub = getattr(view, "hub", None)
        if isinstance(hub, Hub):
            return hub
    raise LookupError("no GraphQL endpoint with a subscription hub in this app")


async def subscribed(hub: Hub, count: int) -> None:
    """Wait until ``count`` subscriptions are registered with ``hub``: from then on, every
    committed change is routed to them."""
    await wait_until(lambda: hub.subscriber_count == count, f"{count} subscriptions registering")


@asynccontextmanager
async def uvicorn_server(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in this event loop; yield its URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started or task.done(), "uvicorn starting")
        if task.done():
            task.result()  # raises what stopped it
        assert server.started, "uvicorn exited without starting"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


class WsClient:
    """One graphql-transport-ws connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = 0

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, base_url: str, payload: dict[str, Any] | None, **options: Any
    ) -> AsyncIterator[WsClient]:
        """Connect and send ``connection_init``; the ack is checked by ``acknowledged``."""
        url = base_url.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=[PROTOCOL], open_timeout=10, **options) as ws:
            client = cls(ws)
            if payload is not None:
                await client.send({"type": "connection_init", "payload": payload})
            yield client

    @classmethod
    @asynccontextmanager
    async def signed_in(cls, base_url: str, token: str, **options: Any) -> AsyncIterator[WsClient]:
        async with cls.connect(base_url, {"Authorization": f"Bearer {token}"}, **options) as c:
            ack = await c.receive()
            assert ack["type"] == "connection_ack", ack
            yield c

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, within: float = 10.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), within))

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        op_id = str(self._ids)
        await self.send(
            {
                "id": op_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
        return op_id

    async def next_data(self, within: float = 10.0) -> dict[str, Any]:
        """The data of the next ``next`` message (failing on errors or anything else)."""
        message = await self.receive(within)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]

    async def nothing_within(self, seconds: float) -> None:
        try:
            message = await asyncio.wait_for(self.ws.recv(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"expected no message, got {message!r}")

    async def closed(self, within: float = 10.0) -> tuple[int | None, str | None]:
        """Wait until the server closes the socket; return (code, reason)."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), within)
        except ConnectionClosed as closed:
            return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, None)


class Http:
    """GraphQL over HTTP to a real server."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=30)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def query(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]
