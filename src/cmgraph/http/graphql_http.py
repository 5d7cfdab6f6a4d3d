"""How /graphql answers, as the GraphQL-over-HTTP specification says.

- **Media type.** ``application/graphql-response+json`` when the client's ``Accept`` lists
  it at least as high as ``application/json``; otherwise (no ``Accept``, ``*/*``, only
  ``application/json``, or nothing we know) ``application/json``, as older clients expect.
  Every JSON answer of the endpoint uses it, refusals included.
- **Request errors** (the document did not parse or validate, a variable did not fit, the
  operation could not be chosen, a persisted document was not found): nothing ran, so the
  body has no ``data`` (the GraphQL spec: "not present"). In ``graphql-response+json`` the
  status says so: 400, or 404 for an unknown persisted query; in ``application/json`` it
  is 200, the spec's rule for that type. A request error of ours
  (``INTERNAL_SERVER_ERROR``) is 500 in both. A result whose execution began is 200 in
  both, even when ``data`` is null.
- **Caching.** A GET read that succeeded without errors may be kept by the browser but not
  by shared caches, and is revalidated: ``Cache-Control: private, no-cache``, an ``ETag``
  (a digest of the media type and the body) and ``Vary: Accept, Authorization, Cookie``;
  ``If-None-Match`` with that tag gets 304 and no body. Everything else is ``no-store``.
- **Methods.** GET and POST; a mutation over GET, and any other method (HEAD included), is
  405 with ``Allow``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Message, Scope, Send

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
CACHEABLE = "private, no-cache"
NOT_CACHEABLE = "no-store"
VARY = "Accept, Authorization, Cookie"
ALLOWED_METHODS = "GET, POST"
# ``extensions.code`` of request errors whose status is not 400 in graphql-response+json.
_STATUS_BY_CODE = {"PERSISTED_QUERY_NOT_FOUND": 404, "INTERNAL_SERVER_ERROR": 500}
# Request errors whose status is the same in both media types: a failure is no 200.
_STATUS_IN_BOTH = {"INTERNAL_SERVER_ERROR": 500}


def negotiate(accept: str) -> str:
    """The media type to answer a request with this ``Accept`` header in."""
    weights = {JSON: 0.0, GRAPHQL_RESPONSE: 0.0}
    for part in accept.split(","):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        media_type = media_type.lower()
        if media_type not in weights:
            continue
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media_type] = max(weights[media_type], weight)
    if weights[GRAPHQL_RESPONSE] > 0 and weights[GRAPHQL_RESPONSE] >= weights[JSON]:
        return GRAPHQL_RESPONSE
    return JSON


@dataclass(frozen=True)
class Exchange:
    """What the answer to one request depends on besides its result."""

    media_type: str
    method: str
    if_none_match: str

    @classmethod
    def of(cls, scope: Scope) -> Exchange:
        headers = dict(scope.get("headers") or [])
        return cls(
            media_type=negotiate(headers.get(b"accept", b"").decode("latin-1")),
            method=scope.get("method", "GET"),
            if_none_match=headers.get(b"if-none-match", b"").decode("latin-1"),
        )


def is_request_error(result: Mapping[str, Any]) -> bool:
    """Whether the errors came before execution: no data, and no error at a field's path."""
    errors: Sequence[Mapping[str, Any]] = result.get("errors") or ()
    return bool(errors) and result.get("data") is None and not any("path" in e for e in errors)


def answer(result: Mapping[str, Any], exchange: Exchange) -> Response:
    """The response to one GraphQL result (a formatted ``{data, errors, extensions}``)."""
    body: Mapping[str, Any] = result
    status = 200
    if is_request_error(result):
        body = {key: value for key, value in result.items() if key != "data"}
        codes = [(e.get("extensions") or {}).get("code") for e in result["errors"]]
        by_code = _STATUS_BY_CODE if exchange.media_type == GRAPHQL_RESPONSE else _STATUS_IN_BOTH
        default = 400 if exchange.media_type == GRAPHQL_RESPONSE else 200
        status = next((by_code[c] for c in codes if c in by_code), default)
    content = orjson.dumps(body)
    if exchange.method != "GET" or status != 200 or result.get("errors"):
        return Response(
            content,
            status,
            headers={"Cache-Control": NOT_CACHEABLE},
            media_type=exchange.media_type,
        )
    # The same result in the other media type is another representation: another tag.
    digest = hashlib.sha256(exchange.media_type.encode() + b"\n" + content)
    tag = f'"{digest.hexdigest()[:32]}"'
    headers = {"Cache-Control": CACHEABLE, "ETag": tag, "Vary": VARY}
    if matches(exchange.if_none_match, tag):
        return Response(status_code=304, headers=headers)
    return Response(content, 200, headers=headers, media_type=exchange.media_type)


def matches(if_none_match: str, tag: str) -> bool:
    """``If-None-Match`` names ``tag`` (weak comparison, as RFC 9110 has it for GET)."""
    if not if_none_match.strip():
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False


def in_media_type(media_type: str, send: Send) -> Send:
    """``send`` with every JSON answer in ``media_type`` and kept by no cache unless it says.

    For the refusals made before GraphQL runs (401, 403, 400 ...), which are built as
    plain ``application/json`` by the shared error helpers.
    """

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = []
            cache_control = False
            for name, value in message.get("headers") or []:
                lower = name.lower()
                if lower == b"content-type" and value.startswith(JSON.encode()):
                    value = media_type.encode()
                cache_control = cache_control or lower == b"cache-control"
                headers.append((name, value))
            if not cache_control:
                headers.append((b"cache-control", NOT_CACHEABLE.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return sending


def wants_ide(method: str, query_string: bytes | str, accept: Sequence[str]) -> bool:
    """A browser opening /graphql itself: a GET without parameters asking for HTML.

    ``accept`` is every ``Accept`` header the request sent (it may repeat one). A GET that
    names its document by hash or id has no ``query`` either, and is a request to answer.
    """
    return method == "GET" and not query_string and any("text/html" in a for a in accept)


def lower_media_type(content_type: bytes) -> bytes:
    """``Content-Type`` with its type and subtype in lower case (they are case-insensitive,
    RFC 9110 8.3.1), its parameters as sent (a multipart boundary is case-sensitive)."""
    media_type, separator, parameters = content_type.partition(b";")
    return media_type.strip().lower() + separator + parameters
