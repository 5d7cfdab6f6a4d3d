"""Reading one page of an ordered list, forwards or backwards, and its total count when asked.

Pages are keyset pages. A cursor holds its row's sort-key values, the row's id last (every
order ends with a unique, non-null id so that it is total), and a fingerprint of the order it
was made under. The page after a cursor is the rows whose keys come after those values, not
the rows after a count of rows: a cursor keeps its place when rows are inserted or deleted
before it, and a page is an index range instead of rows skipped one by one.

NULL sorts after every value ascending and before every value descending (PostgreSQL's
default, spelled out in SQL so that SQLite agrees). Pages hold at most
``Settings.max_page_size`` items, whichever way they are read.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    SmallInteger,
    and_,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.types import TypeDecorator

DEFAULT_PAGE_SIZE = 50
_MAX_CURSOR_LENGTH = 8192  # the longest sort values (500-character titles) fit several times


@dataclass(frozen=True)
class PageRequest:
    """``first``/``after`` (forwards) and ``last``/``before`` (backwards) as the client sent them.

    They are checked when the page is read, after the list's own arguments, so a bad filter
    or a refused list is reported before a bad page size or cursor.
    """

    first: int | None
    after: str | None
    last: int | None = None
    before: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a list in list order, a cursor per row, and whether rows lie beyond it.

    ``has_next``, ``has_previous`` and ``count`` are asked only when selected: the first two
    are known from the page's own statement, except behind the starting cursor of an empty
    page, which takes one statement more.
    """

    rows: list[Any]
    cursors: list[str]
    has_next: Callable[[], Awaitable[bool]]
    has_previous: Callable[[], Awaitable[bool]]
    count: Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class _Key:
    """One sort key: a column, its direction, and what its values may be."""

    column: Any
    descending: bool
    nullable: bool
    kind: type
    bits: int  # integer columns: the width of their values; 0 otherwise
    aware: bool  # datetime columns that take only timezone-aware values
    name: str

    def reversed(self) -> _Key:
        return replace(self, descending=not self.descending)

    def term(self) -> Any:
        """The ORDER BY term; NULL placement is explicit only where NULL can occur."""
        if self.descending:
            return self.column.desc().nulls_first() if self.nullable else self.column.desc()
        return self.column.asc().nulls_last() if self.nullable else self.column.asc()

    def equals(self, value: Any) -> ColumnElement[bool]:
        return self.column.is_(None) if value is None else self.column == value

    def beyond(self, value: Any) -> ColumnElement[bool]:
        """Values that come strictly after ``value`` in this key's direction (NULL largest)."""
        column = self.column
        if value is None:
            return column.isnot(None) if self.descending else false()
        after = column < value if self.descending else column > value
        return or_(after, column.is_(None)) if self.nullable and not self.descending else after

    def at_or_beyond(self, value: Any) -> ColumnElement[bool]:
        """For keys without NULLs: ``value`` or anything after it (an index range)."""
        return self.column <= value if self.descending else self.column >= value


async def read_page(
    info: strawberry.Info,
    statement: Select[*tuple[Any, ...]],
    order: Sequence[Any],
    request: PageRequest,
    *,
    scalars: bool = True,
) -> Page:
    """The page ``request`` asks for of ``statement`` in ``order``.

    ``order`` is ORDER BY terms (a column, ``column.asc()`` or ``column.desc()``), the last one
    the list's unique id; ``sort`` builds the usual ones. One statement reads the page; see
    ``Page`` for what may take one more.
    """
    keys = _keys(order)
    size, backward = _size(request, info.context.settings.max_page_size)
    fingerprint = _fingerprint(keys)
    after = _decode(request.after, keys, fingerprint, "after")
    before = _decode(request.before, keys, fingerprint, "before")
    reading = [k.reversed() for k in keys] if backward else keys
    against = [k.reversed() for k in reading]  # the other way from how the page is read

    page = statement
    if after is not None:
        page = page.where(_follows(keys, after))
    if before is not None:
        page = page.where(_follows([k.reversed() for k in keys], before))
    page = page.add_columns(*(k.column.label(f"_page_key_{i}") for i, k in enumerate(keys)))
    # Whether a row lies behind the cursor the page starts from: asked in the same
    # statement, so that it costs nothing more whenever the page has a row to carry it.
    start = before if backward else after
    behind = None
    if start is not None:
        behind = statement.where(_follows(against, start, inclusive=True)).correlate(None).exists()
        page = page.add_columns(behind.label("_page_behind"))
    reader = info.context.reader
    result = await reader.execute(page.order_by(*(k.term() for k in reading)).limit(size + 1))
    width = len(result.keys()) - len(keys) - (behind is not None)
    frozen = result.freeze()
    full = frozen().all()
    rows = list(frozen().scalars() if scalars else frozen().columns(*range(width)))
    values = [tuple(row[width : width + len(keys)]) for row in full]
    more = len(rows) > size
    rows, values = rows[:size], values[:size]
    if backward:
        rows.reverse()
        values.reverse()

    async def more_rows() -> bool:
        return more

    async def behind_start() -> bool:
        if behind is None:
            return False
        return bool(full[0][-1]) if full else bool(await reader.scalar(select(behind)))

    async def count() -> int:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        return int(await reader.scalar(counted))

    return Page(
        rows=rows,
        cursors=[_encode(fingerprint, keys, v) for v in values],
        has_next=behind_start if backward else more_rows,
        has_previous=more_rows if backward else behind_start,
        count=count,
    )


def descending(order: Any) -> bool:
    """Whether an order input (``field``, ``direction``) asks for descending order."""
    return bool(order.direction.value == "DESC")


def sort(column: Any, descending: bool, tiebreak: Any) -> list[Any]:
    return [column.desc() if descending else column.asc(), tiebreak]


# -- page size and direction ---------------------------------------------------------------


def _bad_input(message: str, field: str | None = None) -> GraphQLError:
    extensions: dict[str, Any] = {"code": "BAD_USER_INPUT"}
    if field is not None:
        extensions["field"] = field
    return GraphQLError(message, extensions=extensions)


def _size(request: PageRequest, max_page_size: int) -> tuple[int, bool]:
    """How many rows, and whether they are the last ones (``last``, or ``before`` alone)."""
    if request.first is not None and request.last is not None:
        raise _bad_input("Pass `first` or `last`, not both.", "last")
    for name, value in (("first", request.first), ("last", request.last)):
        if value is not None and not 0 <= value <= max_page_size:
            raise _bad_input(f"`{name}` must be between 0 and {max_page_size}, got {value}.", name)
    backward = request.last is not None or (
        request.before is not None and request.first is None and request.after is None
    )
    size = request.last if backward else request.first
    return (DEFAULT_PAGE_SIZE if size is None else size), backward


# -- keys and the keyset condition ---------------------------------------------------------


def _keys(order: Sequence[Any]) -> list[_Key]:
    """The sort keys behind ORDER BY terms; the last must be a unique id without NULLs."""
    keys = [_key(term) for term in order]
    if not keys or keys[-1].nullable:
        raise TypeError("A page order ends with the rows' unique, non-null id.")
    return keys


def _key(term: Any) -> _Key:
    column, descending, nullable = term, False, None
    if isinstance(term, UnaryExpression) and term.modifier in (
        operators.nulls_first_op,
        operators.nulls_last_op,
    ):
        # An explicit NULL placement marks a column that may hold NULL (an outer join's),
        # and must be the one this module uses.
        nullable, column = True, term.element
        expected = operators.nulls_first_op if _is_desc(column) else operators.nulls_last_op
        if term.modifier is not expected:
            raise TypeError("NULL sorts last ascending and first descending in every page.")
    if isinstance(column, UnaryExpression) and column.modifier in (
        operators.asc_op,
        operators.desc_op,
    ):
        descending, column = column.modifier is operators.desc_op, column.element
    expression = getattr(column, "expression", column)
    if nullable is None:
        nullable = bool(getattr(expression, "nullable", True))
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    kind = sql_type.python_type
    bits = 0
    if isinstance(sql_type, Integer):
        bits = (
            16
            if isinstance(sql_type, SmallInteger)
            else 64
            if isinstance(sql_type, BigInteger)
            else 32
        )
    table_name = getattr(getattr(expression, "table", None), "name", None)
    name = f"{table_name}.{expression.name}" if table_name else str(expression)
    aware = bool(getattr(sql_type, "timezone", False))
    return _Key(column, descending, nullable, kind, bits, aware, name)


def _is_desc(term: Any) -> bool:
    return isinstance(term, UnaryExpression) and term.modifier is operators.desc_op


def _follows(keys: Sequence[_Key], values: tuple[Any, ...], *, inclusive: bool = False) -> Any:
    """Rows after the position ``values`` in the order ``keys`` (or at it, if ``inclusive``).

    The expanded form (a > x OR (a = x AND id > y)) works for mixed directions and NULLs on
    both databases; the leading ``a >= x`` repeats its first part as a range an index on the
    first key can serve.
    """
    terms = []
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        step = key.at_or_beyond(values[i]) if last and inclusive else key.beyond(values[i])
        equal = [k.equals(v) for k, v in zip(keys[:i], values[:i], strict=True)]
        terms.append(and_(*equal, step))
    condition = or_(*terms)
    first = keys[0]
    if len(keys) > 1 and not first.nullable and values[0] is not None:
        condition = and_(first.at_or_beyond(values[0]), condition)
    return condition


# -- cursors -------------------------------------------------------------------------------


def _fingerprint(keys: Sequence[_Key]) -> str:
    """Names the order (columns and directions) a cursor belongs to, in a few characters."""
    spelled = ",".join(f"{k.name} {'desc' if k.descending else 'asc'}" for k in keys)
    return hashlib.sha256(spelled.encode()).hexdigest()[:8]


def _encode(fingerprint: str, keys: Sequence[_Key], values: tuple[Any, ...]) -> str:
    payload = [fingerprint, *(_plain(v) for v in values)]
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return base64.b64encode(text.encode()).decode()


def _plain(value: Any) -> Any:
    """A sort value as JSON: enums by the name stored, dates and times in ISO 8601."""
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, date):
        return value.isoformat()
    return value


def _bad_cursor(field: str, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_CURSOR", "field": field})


def _decode(
    cursor: str | None, keys: Sequence[_Key], fingerprint: str, field: str
) -> tuple[Any, ...] | None:
    """The sort values a cursor of ``_encode`` holds; any other spelling is refused."""
    if cursor is None:
        return None
    payload: Any = None
    if len(cursor) <= _MAX_CURSOR_LENGTH and cursor.isascii():
        try:
            payload = json.loads(base64.b64decode(cursor, validate=True).decode())
        except (binascii.Error, ValueError, RecursionError):
            payload = None
    if not isinstance(payload, list) or not payload or not isinstance(payload[0], str):
        raise _bad_cursor(field, f"Invalid cursor in `{field}`: pass a cursor this list returned.")
    if payload[0] != fingerprint:
        raise _bad_cursor(
            field,
            f"The cursor in `{field}` was made under another order: page this order "
            "from its start, or pass the `orderBy` the cursor came with.",
        )
    values = None
    if len(payload) == len(keys) + 1:
        try:
            values = tuple(_value(k, v) for k, v in zip(keys, payload[1:], strict=True))
        except (ValueError, TypeError, KeyError, OverflowError):
            values = None
    if values is None or _encode(fingerprint, keys, values) != cursor:
        raise _bad_cursor(field, f"Invalid cursor in `{field}`: pass a cursor this list returned.")
    return values


def _value(key: _Key, value: Any) -> Any:
    """A cursor's JSON value as a value of ``key``'s column; ValueError if it cannot be one."""
    kind = key.kind
    if value is None:
        ok = key.nullable
    elif kind is bool or isinstance(value, bool):
        ok = kind is bool and isinstance(value, bool)
    elif kind is int:
        limit = 2 ** (key.bits - 1) if key.bits else 2**63
        ok = isinstance(value, int) and -limit <= value < limit
    elif kind is float:
        ok = isinstance(value, int | float) and math.isfinite(value)
    elif not isinstance(value, str):
        ok = False
    elif kind is str:
        value.encode()  # lone surrogates cannot be sent to the database: UnicodeEncodeError
        ok = "\x00" not in value
    elif issubclass(kind, enum.Enum):
        return kind[value]
    elif kind is datetime:
        value = datetime.fromisoformat(value)
        ok = not key.aware or value.tzinfo is not None
        if key.aware and ok:
            value = value.astimezone(UTC)  # as the column binds it; OverflowError near year 1
    elif kind is date:
        return date.fromisoformat(value)
    else:
        ok = False
    if not ok:
        raise ValueError("not a value of this key")
    return value
