"""Reading one page of an ordered list, forwards or backwards, and its total count when asked.

Pages are keyset pages (``domain.keyset``). A cursor holds its row's sort-key values, the
row's id last, and a fingerprint of the order it was made under. The page after a cursor is
the rows whose keys come after those values, not the rows after a count of rows: a cursor
keeps its place when rows are inserted or deleted before it, and no rows are skipped one by
one to reach it (how fast the database finds that place depends on its indexes; most sort
columns have none).

Cursors are not signed: an edited cursor that is well formed is just another place in the
order, and filters and access still apply to every page. Pages hold at most
``Settings.max_page_size`` items, whichever way they are read.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import hashlib
import json
from collections import namedtuple
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, TypeAlias, cast

import strawberry
from graphql import GraphQLError
from sqlalchemy import Integer, Select, func, literal_column, select

from cmgraph.domain.clause_shapes import ShapedSelect, named, unnamed_values
from cmgraph.domain.keyset import Key, follows, keys
from cmgraph.resolvers.reader import KeptStatement
from cmgraph.resolvers.selection import selected

DEFAULT_PAGE_SIZE = 50  # never more than Settings.max_page_size
# A page flag: known, or asked of the database when resolved.
Flag: TypeAlias = bool | Callable[[], Awaitable[bool]]
# The total count of a list, known from the page's statement or asked when resolved.
Count: TypeAlias = int | Callable[[], Awaitable[int]]
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

    The flags are known from the page's own statement, except behind the starting cursor of
    an empty page (or when the flag was not seen in the selection): then they are a function
    that asks, run only if the flag is resolved. ``count`` likewise: read with the page when
    ``totalCount`` is selected (unless the page came back empty after a cursor), else asked
    only when resolved.
    """

    rows: list[Any]
    cursors: Sequence[str]
    has_next: Flag
    has_previous: Flag
    count: Count


async def read_page(
    info: strawberry.Info,
    statement: Select[*tuple[Any, ...]] | ShapedSelect,
    order: Sequence[Any],
    request: PageRequest,
    *,
    scalars: bool = True,
    shown: Select[*tuple[Any, ...]] | None = None,
) -> Page:
    """The page ``request`` asks for of ``statement`` in ``order``.

    ``order`` is ORDER BY terms (a column, ``column.asc()`` or ``column.desc()``), the last one
    the list's unique id; ``domain.keyset.sort`` builds the usual ones. One statement reads
    the page, with the total count when ``totalCount`` is selected; see ``Page`` for what may
    take one more. ``scalars``: rows are entities (else named tuples of the columns, read
    without the ORM). ``shown``: then ``statement`` selects only the rows' ids (its last
    order key, with the joins its WHERE needs) and ``shown`` the columns the page shows,
    from the same table. The matching ids are filtered, counted and ordered first, and only
    the page's rows are read in full: the database never looks up what is shown of the
    rows beyond the page.

    A ``ShapedSelect`` statement makes the page's statement once per shape (of the list,
    the order, the cursors and the fields asked for), kept for the process and run with
    each request's values; ``shown`` must then be built once too.
    """
    order_keys, fingerprint = _order(order) if isinstance(order, tuple) else _keys(order)
    size, backward = _size(request, info.context.settings.max_page_size)
    after = _decode(request.after, order_keys, fingerprint, "after")
    before = _decode(request.before, order_keys, fingerprint, "before")
    # Whether a row lies behind the cursor the page starts from (the other way from how the
    # page is read): asked in the page's statement when its flag is selected, so that it
    # costs nothing more whenever the page has a row to carry it.
    start = before if backward else after
    # Fragments included, directives ignored: at worst a flag or count is read when skipped.
    below = selected(info)
    counted = "totalCount" in below
    carried = start is not None and (
        ("hasNextPage" if backward else "hasPreviousPage") in below.get("pageInfo", {})
    )
    shaped = (
        statement
        if isinstance(statement, ShapedSelect)
        else ShapedSelect(None, {}, lambda: statement)
    )
    shape = _PageShape(order_keys, backward, after, before, counted, carried, shown, size)
    values = {**shaped.values, **shape.values()}
    reader = info.context.reader
    build = functools.partial(shape.statement, shaped.build)
    kept = None
    if shaped.key is None:
        page = build()
    else:
        kept = _kept((shaped.key, shape.key()), build, values, reader)
        page = kept.page
    if scalars:
        result = await reader.execute(page, values)
        names, full = tuple(result.keys()), result.all()
    elif kept is not None:
        names, full = await reader.kept_columns(kept, values, check=CHECK_KEPT_STATEMENTS)
    else:
        result = await reader.columns(page, values)
        names, full = tuple(result.keys()), result.all()
    width = len(names) - len(order_keys) - counted - carried
    if scalars:
        rows = [row[0] for row in full]
    else:  # plain tuples with the columns' names: a Row's access by name costs more
        make = _record_type(names[:width])._make
        rows = [make(row[:width]) for row in full]
    more = len(rows) > size
    rows, shown_rows = rows[:size], full[:size]
    if backward:
        rows.reverse()
        shown_rows.reverse()

    behind_start: Flag = False
    if carried and full:
        behind_start = bool(full[0][-1])
    elif start is not None:  # an empty page has no row to carry it: asked when resolved
        behind_start = _ask(reader, shape.behind(shaped.build()))

    async def count() -> int:
        return int(await reader.scalar(_counting(shaped.build())))

    total: Count = count
    if counted and full:
        total = int(full[0][width + len(order_keys)])
    elif counted and after is None and before is None:
        total = 0  # nothing at all, not merely nothing after a cursor

    return Page(
        rows=rows,
        cursors=Cursors(fingerprint, shown_rows, slice(width, width + len(order_keys))),
        has_next=behind_start if backward else more,
        has_previous=more if backward else behind_start,
        count=total,
    )


# Page statements by shape, for the process: a list read again in a shape seen before is
# run without being built again, and without SQLAlchemy working out its cache key again.
_KEPT: dict[Hashable, KeptStatement] = {}
_KEPT_MOST = 1000  # far more shapes than clients use; one inventing shapes empties it
# Set by the tests: each reuse is checked against a statement built anew for the request.
CHECK_KEPT_STATEMENTS = False


def _kept(
    key: Hashable,
    build: Callable[[], Select[Any]],
    values: dict[str, Any],
    reader: Any,
) -> KeptStatement:
    """The statement kept for ``key``, built (and checked) the first time."""
    kept = _KEPT.get(key)
    if kept is None:
        page = build()
        unnamed = unnamed_values(page, values)
        if unnamed:  # a programming error: the tests of the list find it
            raise TypeError(f"A statement kept by its shape binds {unnamed} without a name.")
        if len(_KEPT) >= _KEPT_MOST:
            _KEPT.clear()
        kept = _KEPT[key] = KeptStatement(page)
    elif CHECK_KEPT_STATEMENTS:
        _check_kept(kept.page, build(), values, reader.engine.dialect)
    return kept


def _check_kept(
    page: Select[Any], fresh: Select[Any], values: dict[str, Any], dialect: Any
) -> None:
    """A kept statement has the SQL of one built for this request, which binds ``values``."""
    kept_sql, fresh_sql = (str(s.compile(dialect=dialect)) for s in (page, fresh))
    if kept_sql != fresh_sql:
        raise AssertionError(f"kept statement differs:\n{kept_sql}\nbuilt now:\n{fresh_sql}")
    bound = fresh.compile(dialect=dialect).params
    wrong = sorted(k for k in set(values) & set(bound) if bound[k] != values[k])
    if wrong or unnamed_values(fresh, values):
        raise AssertionError(f"kept statement's values differ from those built now: {wrong}")


@dataclass(frozen=True)
class _PageShape:
    """A page's statement over its list's: ``key`` names its SQL, ``values`` its values."""

    order_keys: Sequence[Key]
    backward: bool
    after: tuple[Any, ...] | None  # a cursor's sort values
    before: tuple[Any, ...] | None
    counted: bool  # with the total
    carried: bool  # with whether a row lies behind the starting cursor
    shown: Select[*tuple[Any, ...]] | None
    size: int

    def key(self) -> Hashable:
        def nulls(place: tuple[Any, ...] | None) -> tuple[bool, ...] | None:
            return None if place is None else tuple(v is None for v in place)

        order = tuple((k.name, k.descending) for k in self.order_keys)
        return (
            order,
            self.backward,
            nulls(self.after),
            nulls(self.before),
            self.counted,
            self.carried,
            self.shown,  # by identity (built once, as ``read_page`` asks), kept alive
            self.size,
        )

    def values(self) -> dict[str, Any]:
        """The cursors' sort values (but NULLs, which are SQL), by name."""
        values: dict[str, Any] = {}
        for prefix, place in (("after", self.after), ("before", self.before)):
            for i, value in enumerate(place or ()):
                if value is not None:
                    values[f"{prefix}_{i}"] = value
        return values

    def _place(self, prefix: str, place: tuple[Any, ...]) -> tuple[Any, ...]:
        """A cursor's sort values as the parameters ``values`` names."""
        return tuple(None if v is None else named(f"{prefix}_{i}", v) for i, v in enumerate(place))

    def behind(self, statement: Select[*tuple[Any, ...]]) -> Any:
        """Whether a row lies at or behind the cursor the page starts from."""
        if self.backward:
            assert self.before is not None
            against, start = self.order_keys, self._place("before", self.before)
        else:
            assert self.after is not None
            against = [k.reversed() for k in self.order_keys]
            start = self._place("after", self.after)
        return statement.where(follows(against, start, inclusive=True)).correlate(None).exists()

    def statement(self, build: Callable[[], Select[*tuple[Any, ...]]]) -> Select[*tuple[Any, ...]]:
        """The page's statement over the list's (``build``)."""
        order_keys = self.order_keys
        reversed_keys = [k.reversed() for k in order_keys]
        statement = build()
        page = statement
        if self.after is not None:
            page = page.where(follows(order_keys, self._place("after", self.after)))
        if self.before is not None:
            page = page.where(follows(reversed_keys, self._place("before", self.before)))
        terms = [k.term() for k in (reversed_keys if self.backward else order_keys)]
        # The size is written into the SQL, not bound: PostgreSQL then weighs the plan it
        # keeps for a prepared statement on the rows the page really reads. Bound, it took
        # 10% of the list, found that plan dearer than one made for the values, and planned
        # the statement again on every run (1.8 ms, more than running it).
        limit = literal_column(str(self.size + 1), Integer())
        if self.shown is not None:  # the page's ids, then their rows
            ids = page.order_by(*terms).limit(limit).correlate(None)
            page = self.shown.where(order_keys[-1].column.in_(ids))
        page = page.add_columns(
            *(k.column.label(f"_page_key_{i}") for i, k in enumerate(order_keys))
        )
        if self.counted:
            page = page.add_columns(_total(statement))
        if self.carried:
            page = page.add_columns(self.behind(statement).label("_page_behind"))
        return page.order_by(*terms).limit(limit)


class Cursors(Sequence[str]):
    """A page's cursors, encoded when first read: most queries select none. ``rows`` hold
    their sort values at ``keys``."""

    def __init__(self, fingerprint: str, rows: Sequence[Any], keys: slice) -> None:
        self._fingerprint = fingerprint
        self._rows = rows
        self._keys = keys
        self._encoded: list[str] | None = None

    def _all(self) -> list[str]:
        if self._encoded is None:
            keys = self._keys
            self._encoded = [_encode(self._fingerprint, tuple(row[keys])) for row in self._rows]
        return self._encoded

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]


def _counting(statement: Select[*tuple[Any, ...]]) -> Select[int]:
    return select(func.count()).select_from(statement.order_by(None).subquery())


def _total(statement: Select[*tuple[Any, ...]]) -> Any:
    """The list's total as a column of its page's statement: an uncorrelated subquery, which
    the database runs once. (``count(*) OVER ()`` measured slower on both databases: the
    window carries every matching row, whole, through a full sort instead of a top-N one;
    and it cannot count past a cursor.)"""
    return _counting(statement).scalar_subquery().correlate(None).label("_page_total")


@cache
def _record_type(names: tuple[str, ...]) -> Any:
    return namedtuple("Record", names)  # the names are known at run time only


def _ask(reader: Any, condition: Any) -> Callable[[], Awaitable[bool]]:
    async def ask() -> bool:
        return bool(await reader.scalar(select(condition)))

    return ask


def descending(order: Any) -> bool:
    """Whether an order input (``field``, ``direction``) asks for descending order."""
    return bool(order.direction.value == "DESC")


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
    return (min(DEFAULT_PAGE_SIZE, max_page_size) if size is None else size), backward


# -- cursors -------------------------------------------------------------------------------


def _keys(order: Sequence[Any]) -> tuple[list[Key], str]:
    order_keys = keys(order)
    return order_keys, _fingerprint(order_keys)


# An order made once (``action_filter.action_order``) is a tuple: its keys are made once too.
_order = functools.lru_cache(maxsize=64)(_keys)


def _fingerprint(order_keys: Sequence[Key]) -> str:
    """Names the order (columns and directions) a cursor belongs to, in a few characters."""
    spelled = ",".join(f"{k.name} {'desc' if k.descending else 'asc'}" for k in order_keys)
    return hashlib.sha256(spelled.encode()).hexdigest()[:8]


# One encoder for every cursor (``json.dumps`` with options builds one per call: half the
# cost of a cursor, and a page makes one per row).
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _encode(fingerprint: str, values: tuple[Any, ...]) -> str:
    payload = [fingerprint, *(_plain(v) for v in values)]
    return base64.b64encode(_JSON.encode(payload).encode()).decode()


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
    cursor: str | None, order_keys: Sequence[Key], fingerprint: str, field: str
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
    if len(payload) == len(order_keys) + 1:
        try:
            values = tuple(_value(k, v) for k, v in zip(order_keys, payload[1:], strict=True))
        except (ValueError, TypeError, KeyError, OverflowError):
            values = None
    if values is None or _encode(fingerprint, values) != cursor:
        raise _bad_cursor(field, f"Invalid cursor in `{field}`: pass a cursor this list returned.")
    return values


def _value(key: Key, value: Any) -> Any:
    """A cursor's JSON value as a value of ``key``'s column; ValueError if it cannot be one.

    The caller re-encodes the values and compares, so only the canonical spelling passes.
    """
    kind = key.kind
    if value is None:
        ok = key.nullable
    elif kind is int:  # Integer columns: 32-bit (``keyset.keys`` refuses other widths)
        ok = type(value) is int and -(2**31) <= value < 2**31
    elif not isinstance(value, str):
        ok = False
    elif kind is str:
        value.encode()  # lone surrogates cannot be sent to the database: UnicodeEncodeError
        ok = "\x00" not in value
    elif kind is datetime:  # columns with a time zone only (``keyset.keys``)
        value = datetime.fromisoformat(value)
        ok = value.tzinfo is not None
        if ok:
            value = value.astimezone(UTC)  # as the column binds it; OverflowError near year 1
    elif kind is date:
        return date.fromisoformat(value)
    else:  # an Enum, by name
        return cast(type[enum.Enum], kind)[value]
    if not ok:
        raise ValueError("not a value of this key")
    return value
