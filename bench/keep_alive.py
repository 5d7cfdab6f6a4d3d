"""A lean keep-alive HTTP/1.1 client for the benchmarks: one request's bytes sent as they are.

httpx costs several times more CPU per request, which on a small machine would be taken
from the servers being measured.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import orjson


class Connection:
    """One keep-alive HTTP/1.1 connection posting prepared requests (Content-Length or
    chunked answers)."""

    # Both servers drop a connection idle for 5 s (uvicorn's and Node's default): one left
    # idle while the other servers take their turn is opened afresh instead.
    IDLE = 3.0

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.used = 0.0

    @property
    def ready(self) -> bool:
        """Open, and not idle long enough to be opened afresh by the next request."""
        return self.streams is not None and time.monotonic() - self.used <= self.IDLE

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.streams is not None and not self.ready:
            await self.close()
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
            self.used = time.monotonic()
        return self.streams

    async def post(self, request: bytes) -> bytes:
        reader, writer = await self.open()
        writer.write(request)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            raise SystemExit(f"{self.host}:{self.port} closed the connection") from None
        status, headers = _parse_head(head)
        if headers.get("transfer-encoding") == "chunked":
            body = await _read_chunked(reader)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.used = time.monotonic()
        if headers.get("connection") == "close":
            await self.close()
        if status != 200:
            raise SystemExit(f"HTTP {status} from {self.host}:{self.port}: {body[:2000]!r}")
        return body

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip().lower()
    return int(status_line.split(" ", 2)[1]), headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while size := int((await reader.readline()).split(b";")[0], 16):
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
    while (await reader.readline()) not in (b"\r\n", b""):
        pass  # trailers
    return b"".join(chunks)


def graphql_request(base: str, payload: dict[str, Any], token: str = "") -> bytes:
    """The bytes of one POST /graphql (sent as is, again and again)."""
    body = orjson.dumps(payload)
    host = urlsplit(base).netloc
    head = [
        "POST /graphql HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        "Accept: application/json",
        f"Content-Length: {len(body)}",
    ]
    if token:
        head.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body
