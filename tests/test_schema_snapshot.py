"""The committed schema.graphql is what the code serves."""

from __future__ import annotations

from pathlib import Path

from cmgraph.schema.api import schema_sdl

SNAPSHOT = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_schema_graphql_is_in_sync() -> None:
    assert SNAPSHOT.read_text(encoding="utf-8") == schema_sdl(), (
        "schema.graphql is out of date: run `cmgraph schema export schema.graphql` and review "
        "the diff (deprecate rather than break)."
    )
