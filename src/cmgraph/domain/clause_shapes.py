"""WHERE clauses known by their shape, so that a statement can be built once per shape.

Two requests for a list differ in their shape (which filters are set, which of them are
true or false, whether a cursor holds a NULL), which decides the SQL, and in the values
the SQL compares with. Building a statement and working out SQLAlchemy's cache key for it
costs more than the database's work for a page; a statement kept per shape is built once
and run with each request's values (``resolvers.pages``).

``Clauses`` collects, for each clause, a token for what of the input decides its SQL, the
values it binds by name, and a function that builds it. Every value a clause compares with
is a ``named`` bound parameter, supplied again at each run; a value that is the same in
every build (a list of statuses the rules fix) is a ``constant``. ``unnamed_values`` finds
any other bound value in a compiled statement: one that a statement kept for its shape
would carry over from the request that built it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.sqltypes import NULLTYPE
from sqlalchemy.types import TypeEngine

_CONSTANT = "constant_"


def named(name: str, value: Any, type_: TypeEngine[Any] = NULLTYPE) -> BindParameter[Any]:
    """``value`` bound as ``name`` (a list or tuple for ``IN``). Without a type, it takes the
    type of the column it is compared with, as a plain value would."""
    many = isinstance(value, list | tuple)
    return bindparam(name, list(value) if many else value, type_=type_, expanding=many)


def constant(name: str, value: Any) -> BindParameter[Any]:
    """A value the same in every statement of a shape (kept with the statement)."""
    return named(_CONSTANT + name, value)


def unnamed_values(statement: Any, values: dict[str, Any]) -> list[str]:
    """The bound parameters in ``statement`` that are neither in ``values`` nor constants:
    those a statement kept for its shape would carry over from the request that built it."""
    return [
        str(element.key)
        for element in visitors.iterate(statement)
        if isinstance(element, BindParameter)
        and element.key not in values
        and not str(element.key).startswith(_CONSTANT)
    ]


@dataclass
class Clauses:
    """WHERE clauses with their shape and values, built only when asked."""

    shape: list[Hashable] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    builders: list[Callable[[], ColumnElement[bool]]] = field(default_factory=list)
    bound: list[dict[str, Any]] = field(default_factory=list)  # each clause's values

    def add(
        self, token: Hashable, build: Callable[..., ColumnElement[bool]], **values: Any
    ) -> None:
        """A clause: ``token`` stands for its SQL; ``build`` makes it from ``values``, each
        passed as a ``named`` bound parameter under its own name."""
        self._add(token, lambda: build(**{k: named(k, v) for k, v in values.items()}), values)

    def among(self, name: str, column: Any, values: Sequence[Any] | None) -> None:
        """``column IN values``, the values bound as ``name``; nothing when they are None."""
        if values is not None:
            self.add(name, lambda **bound: column.in_(bound[name]), **{name: values})

    def _add(
        self, token: Hashable, build: Callable[[], ColumnElement[bool]], values: dict[str, Any]
    ) -> None:
        for name, value in values.items():
            if self.values.get(name, value) != value:
                raise ValueError(f"two values bound as {name!r}")
        self.shape.append(token)
        self.values.update(values)
        self.builders.append(build)
        self.bound.append(values)

    def extend(self, other: Clauses) -> None:
        """``other``'s clauses after these."""
        for token, build, values in zip(other.shape, other.builders, other.bound, strict=True):
            self._add(token, build, values)

    def built(self) -> list[ColumnElement[bool]]:
        return [build() for build in self.builders]

    def key(self) -> tuple[Hashable, ...]:
        return tuple(self.shape)


@dataclass(frozen=True)
class ShapedSelect:
    """A statement known by its shape: ``build`` makes it, binding ``values`` by name.

    Two ``ShapedSelect`` with equal keys build the same SQL, so one built statement serves
    both, each run with its own values.
    """

    key: Hashable
    values: dict[str, Any]
    build: Callable[[], Select[Any]]
