"""Signed links: a payload and its expiry, signed with the server's key, so that any server
process can check a link another one made. itsdangerous signs and checks (the library
Starlette's own sessions use); a token is accepted only exactly as it was made, so a link
has one spelling, and each kind of link signs with its own salt, so one kind never opens
another.
"""

from __future__ import annotations

import time
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer


class LinkInvalid(Exception):
    """The token was not made by this server for this purpose."""


class LinkExpired(Exception):
    """The token is genuine but too old."""


def sign(key: bytes, purpose: str, payload: Any, expires: int) -> str:
    """A URL-safe token for ``payload`` that ``check`` accepts until ``expires`` (epoch s)."""
    return str(URLSafeSerializer(key, salt=purpose).dumps([payload, expires]))


def check(key: bytes, purpose: str, token: str, now: float | None = None) -> Any:
    """The payload of a genuine, unexpired token made for ``purpose``; else an exception."""
    serializer = URLSafeSerializer(key, salt=purpose)
    try:
        payload, expires = serializer.loads(token)
    except (BadSignature, TypeError, ValueError):
        raise LinkInvalid from None
    if not isinstance(expires, int) or isinstance(expires, bool):
        raise LinkInvalid
    # base64 decoding skips characters outside its alphabet: only the token as made counts.
    if serializer.dumps([payload, expires]) != token:
        raise LinkInvalid
    if expires < (time.time() if now is None else now):
        raise LinkExpired
    return payload
