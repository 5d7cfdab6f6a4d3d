"""Global ids: the one codec for the opaque ``id`` of every object.

A global id is ``base64("<TypeName>:<row id>")``. Every id has exactly one spelling: only
ASCII is accepted, the type name is a GraphQL name, the row id is a positive decimal without
sign or leading zeros that fits the id columns (32 bits), and the base64 must be the canonical
(padded, standard alphabet) encoding, i.e. encoding the decoded text gives the same string
back. Anything else is not an id at all, so callers answer "not found" or "bad input"
instead of guessing, and ``str.isdigit``/``int`` are never let loose on client text
(``"²".isdigit()`` is true and ``int("²")`` raises; ``int("٣")`` is 3).

Any layer may import this module; it imports nothing of the project.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import NamedTuple

MAX_ROW_ID = 2**31 - 1  # the id columns are INTEGER (32 bits on PostgreSQL)
# Longest text worth decoding: a long type name and a 19-digit row id fit comfortably.
MAX_LENGTH = 400

# ``[0-9]`` and ``[A-Za-z]`` are literal ASCII ranges, unlike ``\d`` and ``\w``.
_ROW_ID = re.compile(r"[1-9][0-9]{0,9}")
_TYPE_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


class NodeRef(NamedTuple):
    """What a global id names: a GraphQL type and a database row."""

    type_name: str
    row_id: int


@functools.lru_cache(maxsize=16384)
def encode(type_name: str, row_id: int) -> str:
    """The global id of a row (the API's ``id``); the inverse of ``decode``.

    Kept for the ids seen last: a list or report encodes the same rows' ids on every read,
    and finding one costs a fifth of encoding it.
    """
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode("ascii")


def parse_row_id(text: str) -> int | None:
    """A canonical positive decimal integer that fits an id column, else None."""
    if not isinstance(text, str) or not _ROW_ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_ROW_ID else None


def decode(value: object) -> NodeRef | None:
    """The type and row a canonical global id names; None for anything else."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH or not value.isascii():
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode("ascii") != value:
        return None  # unused trailing bits or the like: another spelling of some id
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    type_name, colon, digits = text.partition(":")
    row_id = parse_row_id(digits)
    if not colon or row_id is None or not _TYPE_NAME.fullmatch(type_name):
        return None
    return NodeRef(type_name, row_id)


def row_id_of(value: object, type_name: str) -> int | None:
    """The row behind a global id of type ``type_name``, as a client sent it; else None."""
    ref = decode(value)
    if ref is None or ref.type_name != type_name:
        return None
    return ref.row_id
