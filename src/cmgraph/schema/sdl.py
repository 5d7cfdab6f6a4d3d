"""The schema as SDL, as committed in ``schema.graphql``."""

from __future__ import annotations

from cmgraph.config import Settings


def schema_sdl() -> str:
    from cmgraph.resolvers.mutations import Mutation
    from cmgraph.resolvers.queries import Query
    from cmgraph.schema.build import build_schema

    return str(build_schema(Query, Settings(), mutation=Mutation)) + "\n"
