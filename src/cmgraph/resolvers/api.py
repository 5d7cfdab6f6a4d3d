"""The API: every area's root fields merged into one schema, and that schema as SDL."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from cmgraph.config import Settings
from cmgraph.resolvers.alerts import AlertMutations, AlertQueries
from cmgraph.resolvers.mail import OutboxMutations, OutboxQueries
from cmgraph.resolvers.mutations.actions import ActionMutations
from cmgraph.resolvers.mutations.assessments import AssessmentMutations
from cmgraph.resolvers.mutations.evidence import EvidenceMutations
from cmgraph.resolvers.mutations.imports import ImportMutations
from cmgraph.resolvers.mutations.templates import TemplateMutations
from cmgraph.resolvers.mutations.testing import TestingMutations
from cmgraph.resolvers.mutations.updates import UpdateMutations
from cmgraph.resolvers.queries import Query as CoreQueries
from cmgraph.resolvers.subscriptions import Subscription
from cmgraph.schema.build import build_schema

Query = merge_types("Query", (CoreQueries, OutboxQueries, AlertQueries))
Mutation = merge_types(
    "Mutation",
    (
        AssessmentMutations,
        ActionMutations,
        TestingMutations,
        UpdateMutations,
        TemplateMutations,
        EvidenceMutations,
        ImportMutations,
        OutboxMutations,
        AlertMutations,
    ),
)


def build_api(settings: Settings) -> strawberry.Schema:
    return build_schema(Query, settings, mutation=Mutation, subscription=Subscription)


def schema_sdl() -> str:
    """The schema as committed in ``schema.graphql``."""
    return str(build_api(Settings())) + "\n"
