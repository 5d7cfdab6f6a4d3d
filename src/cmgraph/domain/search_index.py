"""SQLite's full-text index of the definition versions, as a condition of the action search.

Migration 0012 keeps an FTS5 table with the trigram tokenizer (``action_definition_search``:
each version's definition key, title and guidance, rowid the version's id). A quoted phrase
matches where its text occurs as a substring, case folded, which finds every version the
search's ``LIKE`` would and perhaps a few more (FTS5 folds all of Unicode, ``LIKE`` only
ASCII); the search keeps its exact ``LIKE`` on what the index lets through, so matching is
the same with or without it. Terms of one or two characters have no trigram: they read the
versions in full, as every term did before. PostgreSQL's trigram indexes serve ``ILIKE``
itself (migration 0008), so there the condition is simply true.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Select, bindparam, literal_column, select, table, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

SEARCH_TABLE = "action_definition_search"
MIN_INDEXED_LENGTH = 3  # a trigram


class IndexedVersions(ColumnElement[bool]):
    """``column`` (a definition version's id) is among the versions the index finds for a
    ``search_phrase`` (a string or a bound parameter); true on a database without such an
    index."""

    __visit_name__ = "indexed_versions"
    inherit_cache = True
    type = Boolean()
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("phrase", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, phrase: Any) -> None:
        self.column = column
        self.phrase: ColumnElement[str] = (
            bindparam("search_phrase", phrase) if isinstance(phrase, str) else phrase
        )


def search_phrase(text: str) -> str | None:
    """``text`` as a phrase in double quotes, taken literally (its own quotes doubled); None
    for a term too short to have a trigram."""
    if len(text) < MIN_INDEXED_LENGTH:
        return None
    return '"' + text.replace('"', '""') + '"'


def indexed_versions(column: Any, text: str) -> ColumnElement[bool]:
    """``IndexedVersions``, or true for a term too short to have a trigram."""
    phrase = search_phrase(text)
    return true() if phrase is None else IndexedVersions(column, phrase)


@compiles(IndexedVersions)
def _elsewhere(element: IndexedVersions, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(true(), **kw))


@compiles(IndexedVersions, "sqlite")
def _on_sqlite(element: IndexedVersions, compiler: Any, **kw: Any) -> str:
    index: ColumnElement[Any] = literal_column(SEARCH_TABLE)
    found: Select[Any] = (
        select(literal_column("rowid"))
        .select_from(table(SEARCH_TABLE))
        .where(index.op("MATCH")(element.phrase))
    )
    return str(compiler.process(element.column.in_(found), **kw))
