"""Keyset order: the sort keys behind a list's ORDER BY, and the rows after a place in it.

A list's order is a few columns, each ascending or descending, ending with the rows' unique
id so that it is total. Ties on a column follow that column's direction (``col DESC, id
DESC``, as ``sort`` builds it), so an index on ``(col, id)`` could serve either direction.
A place in the order is one row's sort values; ``follows`` selects the rows after it, which
is how the API's cursor pages (``resolvers.pages``) and the actions export
(``exchange.actions_sheet``) read a list a page at a time.

A column that may hold NULL sorts it after every value ascending and before every value
descending (PostgreSQL's default, spelled out in SQL so that SQLite agrees).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, and_, false, or_
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.types import TypeDecorator


@dataclass(frozen=True)
class Key:
    """One sort key: a column, its direction, whether it may hold NULL, its values' type."""

    column: Any
    descending: bool
    nullable: bool
    kind: type  # int (32-bit), str, an Enum, datetime (with time zone) or date
    name: str

    def reversed(self) -> Key:
        return replace(self, descending=not self.descending)

    def term(self) -> Any:
        """The ORDER BY term; NULL placement is spelled out where NULL can occur."""
        if self.descending:
            return self.column.desc().nulls_first() if self.nullable else self.column.desc()
        return self.column.asc().nulls_last() if self.nullable else self.column.asc()

    def equals(self, value: Any) -> Any:
        return self.column.is_(None) if value is None else self.column == value

    def beyond(self, value: Any) -> Any:
        """Values strictly after ``value`` in this key's direction (NULL the largest)."""
        column = self.column
        if value is None:
            return column.isnot(None) if self.descending else false()
        after = column < value if self.descending else column > value
        return or_(after, column.is_(None)) if self.nullable and not self.descending else after

    def at_or_beyond(self, value: Any) -> Any:
        """For keys without NULLs: ``value`` or anything after it."""
        return self.column <= value if self.descending else self.column >= value


def sort(column: Any, descending: bool, tiebreak: Any) -> list[Any]:
    """ORDER BY terms for ``column`` then the unique ``tiebreak``, both in one direction."""
    if descending:
        return [column.desc(), tiebreak.desc()]
    return [column.asc(), tiebreak.asc()]


def keys(order: Sequence[Any]) -> list[Key]:
    """The sort keys behind ORDER BY terms (a column, ``.asc()`` or ``.desc()``).

    The last must be the rows' unique, non-null id. TypeError for a term this module cannot
    page by: a programming error, caught by the tests of the list that uses it.
    """
    found = [_key(term) for term in order]
    if not found or found[-1].nullable or found[-1].kind is not int:
        raise TypeError("A keyset order ends with the rows' unique, non-null id.")
    return found


def _key(term: Any) -> Key:
    column, descending = term, False
    if isinstance(term, UnaryExpression) and term.modifier in (
        operators.asc_op,
        operators.desc_op,
    ):
        column, descending = term.element, term.modifier is operators.desc_op
    expression = getattr(column, "expression", column)
    table = getattr(getattr(expression, "table", None), "name", None)
    name = f"{table}.{expression.name}" if table else str(expression)
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    kind = sql_type.python_type
    supported = (
        (kind is int and type(sql_type) is Integer)
        or kind in (str, date)
        or (kind is datetime and bool(getattr(sql_type, "timezone", False)))
        or (isinstance(kind, type) and issubclass(kind, enum.Enum))
    )
    if not supported:
        raise TypeError(f"{name} ({sql_type!r}) cannot be a keyset sort key.")
    nullable = bool(getattr(expression, "nullable", True))
    return Key(column, descending, nullable, kind, name)


def follows(keys: Sequence[Key], values: Sequence[Any], *, inclusive: bool = False) -> Any:
    """Rows after the place ``values`` in the order ``keys`` (or at it, if ``inclusive``).

    The expanded form (a > x OR (a = x AND id > y)) works for mixed directions and NULLs on
    both databases; the leading ``a >= x`` repeats its first part as a plain range.
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
