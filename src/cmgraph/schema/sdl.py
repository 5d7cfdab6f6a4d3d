"""The schema as SDL, as committed in ``schema.graphql``."""

from __future__ import annotations

from cmgraph.config import Settings


def schema_sdl() -> str:
    from strawberry.tools import merge_types

    from cmgraph.resolvers.alerts import AlertQueries
    from cmgraph.resolvers.mail import OutboxQueries
    from cmgraph.resolvers.mutations import Mutation
    from cmgraph.resolvers.queries import Query
    from cmgraph.resolvers.subscriptions import Subscription
    from cmgraph.schema.build import build_schema

    root = merge_types("Query", (Query, OutboxQueries, AlertQueries))
    return str(build_schema(root, Settings(), mutation=Mutation, subscription=Subscription)) + "\n"
